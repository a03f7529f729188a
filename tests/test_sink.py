"""The output directory: batched writes, what counts as there, and a folder swapped whole."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from aggregator.files import WRITERS
from aggregator.publish.sink import DirectorySink

P = PurePosixPath


def test_a_batch_writes_every_file_and_skips_unchanged_bytes(tmp_path: Path) -> None:
    sink = DirectorySink(tmp_path)
    with sink.batch():
        assert sink.write(P("a/one.html"), b"1")
        assert sink.write(P("two.html"), b"2")
        assert not sink.write(P("two.html"), b"2")  # same bytes: nothing written
        assert sink.read(P("a/one.html")) == b"1"  # readable before the batch ends
    assert (tmp_path / "a" / "one.html").read_bytes() == b"1"
    assert not list(tmp_path.rglob(".*.tmp"))  # no temp file left behind


def test_an_empty_file_counts_as_missing_so_it_is_rendered_again(tmp_path: Path) -> None:
    sink = DirectorySink(tmp_path)
    (tmp_path / "page").mkdir()
    (tmp_path / "page" / "2.html").write_bytes(b"")  # what a crash before writeback leaves
    assert not sink.exists(P("page/2.html"))
    assert sink.write(P("page/2.html"), b"<html>")
    assert sink.exists(P("page/2.html"))


def test_a_folder_is_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    sink = DirectorySink(tmp_path)
    sink.write(P("index/old-fragment"), b"old")

    def failed(into: Path) -> bool:
        (into / "half").write_bytes(b"x")
        return False

    assert not sink.replace_folder("index", failed)
    assert sink.names("index") == [P("index/old-fragment")]

    def built(into: Path) -> bool:
        (into / "entry.json").write_bytes(b"{}")
        (into / "fragment").mkdir()
        (into / "fragment" / "a.pf").write_bytes(b"a")
        return True

    assert sink.replace_folder("index", built)
    assert sorted(sink.names("index")) == [P("index/entry.json"), P("index/fragment/a.pf")]
    # no staging folder left (the writers' marks folder stays: files.begin_writing)
    assert [p.name for p in tmp_path.iterdir() if p.name != WRITERS] == ["index"]


def test_present_follows_the_folder_and_the_sinks_own_writes(tmp_path: Path) -> None:
    sink = DirectorySink(tmp_path)
    sink.write(P("members/a.html"), b"a")
    with sink.batch():
        assert sink.present("members/a.html") and not sink.present("members/b.html")
        (tmp_path / "members" / "c.html").write_bytes(b"c")  # listed already: not seen
        assert not sink.present("members/c.html")
        sink.write(P("members/b.html"), b"b")
        sink.remove(P("members/a.html"))
        assert sink.present("members/b.html") and not sink.present("members/a.html")
        assert not sink.present("nowhere/x.html") and not sink.present("top.html")
        for outside in ("../x.html", "/etc/passwd", "a/../../x.html", "members/.."):
            with pytest.raises(ValueError):
                sink.present(outside)
    with sink.batch():  # a new batch lists the folder again
        assert sink.present("members/c.html")
    assert sink.present("members/b.html")  # outside a batch: asked of the file itself


def test_a_file_is_written_again_only_when_its_bytes_differ(tmp_path: Path) -> None:
    """Told by the size first, then by the bytes: same size and other bytes, a shorter or
    a longer file, and one missing are all written; the same bytes leave the file alone."""
    from aggregator.files import write_if_changed

    page = tmp_path / "page.html"
    assert write_if_changed(page, b"abcdef")
    before = page.stat().st_ino
    assert not write_if_changed(page, b"abcdef")
    assert page.stat().st_ino == before  # not replaced
    for data in (b"abcdeF", b"abcde", b"abcdefg", b""):
        assert write_if_changed(page, data)
        assert page.read_bytes() == data
    big = bytes(range(256)) * 40_000  # 10 MB: read whole to be compared
    assert write_if_changed(page, big)
    assert not write_if_changed(page, big)
    assert write_if_changed(page, big[:-1] + b"x")
