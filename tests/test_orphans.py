"""What a writer killed mid-publish leaves (issue 29) is removed at the next start: hidden
temp files among the outputs and the search index's staging folder in memory."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path, PurePosixPath

import pytest
from conftest import dead_pid, write_config

from aggregator import Aggregator, files
from aggregator.config import load_settings
from aggregator.files import WRITERS
from aggregator.publish.search import STAGING, _scratch
from aggregator.publish.sink import DirectorySink


def test_orphans_of_a_killed_writer_are_removed_at_the_next_start(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    out = tmp_path / "feeds"
    (out / "source").mkdir(parents=True)
    (out / "pagefind" / "2026-03-p1").mkdir(parents=True)
    pid = dead_pid()
    orphans = [out / f".sources.html.{pid}.tmp", out / "source" / f".city.html.{pid}.tmp",
               out / "pagefind" / f".shards.json.{pid}.tmp"]
    # a shard of the index is built beside and swapped in whole: not walked (it is big)
    in_shard = out / "pagefind" / "2026-03-p1" / f".x.{pid}.tmp"
    in_shard.write_bytes(b"not ours")
    live = out / f".all.atom.{os.getpid()}.tmp"  # a writer of this process: not touched
    for path in (*orphans, live):
        path.write_bytes(b"half a page")
    kept = out / "notes.tmp"  # not a name atomic_write gives
    kept.write_text("mine")
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING}{pid}-", dir=_scratch()))
    (staging / "records").mkdir()
    (staging / "records" / "0.html").write_text("<p>record</p>")
    try:
        with Aggregator(load_settings(config), parse_processes=0):
            pass
        assert [p.exists() for p in orphans] == [False, False, False]
        assert live.exists() and kept.exists() and in_shard.exists()
        assert not staging.exists()
    finally:
        live.unlink(missing_ok=True)
        if staging.exists():
            import shutil
            shutil.rmtree(staging)


def test_a_reader_removes_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    out = tmp_path / "feeds"
    out.mkdir()
    orphan = out / f".sources.html.{dead_pid()}.tmp"
    orphan.write_bytes(b"x")
    with Aggregator(load_settings(config), readonly=True, parse_processes=0):
        pass
    assert orphan.exists()


KILLED_WRITER = """
import os, sys
from pathlib import Path, PurePosixPath
from aggregator.publish.sink import DirectorySink
root = Path(sys.argv[1])
sink = DirectorySink(root)
with sink.batch():
    sink.write(PurePosixPath("all.html"), b"<p>whole</p>")
    (root / f".sources.html.{os.getpid()}.tmp").write_bytes(b"half a page")
    os._exit(9)  # killed mid-publish: neither the batch's end nor its mark's removal
"""


def test_a_writer_killed_mid_publish_leaves_its_mark_and_the_next_start_sweeps(
        tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    out = tmp_path / "feeds"
    out.mkdir()
    with Aggregator(load_settings(config), parse_processes=0):
        pass  # the outputs are this version's: marks folder, no mark
    assert list((out / WRITERS).iterdir()) == []
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(out)], check=False)
    assert killed.returncode == 9
    marks = list((out / WRITERS).iterdir())
    assert len(marks) == 1
    orphan = out / f".sources.html.{marks[0].name}.tmp"
    assert orphan.exists() and (out / "all.html").exists()
    with Aggregator(load_settings(config), parse_processes=0):
        pass
    assert not orphan.exists() and (out / "all.html").read_bytes() == b"<p>whole</p>"
    assert list((out / WRITERS).iterdir()) == []


def test_a_start_after_writers_that_finished_walks_no_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(tmp_path, [])
    out = tmp_path / "feeds"
    sink = DirectorySink(out)
    with sink.batch():
        sink.write(PurePosixPath("all.html"), b"<p>one</p>")
        assert [p.name for p in (out / WRITERS).iterdir()] == [str(os.getpid())]
    sink.write(PurePosixPath("sources.html"), b"<p>two</p>")  # unbatched: marked too
    assert list((out / WRITERS).iterdir()) == []

    def walked(*args: object, **kwargs: object) -> None:
        raise AssertionError("the outputs were walked")
    monkeypatch.setattr(files.os, "walk", walked)
    with Aggregator(load_settings(config), parse_processes=0):
        pass


def test_sealed_pages_a_crash_left_empty_are_written_again(tmp_path: Path) -> None:
    """A machine that stopped before a batch's sync can leave renamed pages empty; a sealed
    archive page (its successor on disk) was never rendered again. The start after the
    crash (a dead writer's mark) takes empty pages away, and the next publish writes them
    as they were."""
    from datetime import UTC, datetime, timedelta

    from aggregator.models import StoredEntry

    sources = [{"id": "s0", "name": "Source", "kind": "member", "url": "http://127.0.0.1:9/s"}]
    config = write_config(tmp_path, sources)
    config.write_text(config.read_text().replace("entries_per_feed: 50", "entries_per_feed: 3"))
    when = datetime(2026, 3, 1, tzinfo=UTC)
    entries = [StoredEntry(key=f"s0:{n}", source_id="s0", entry_id=f"{n}", title=f"Story {n}",
                           link=f"https://s0.example/{n}", canonical_link=None,
                           published=when + timedelta(hours=n), updated=when,
                           first_seen=when + timedelta(hours=n), content_hash=str(n),
                           summary=f"Summary {n}") for n in range(14)]
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.store.apply(entries, [])
        agg.publish()
    out = tmp_path / "feeds"
    pages = [out / "archive" / "all" / "1.atom", out / "page" / "1.html",
             out / "source" / "s0" / "page" / "2.html"]
    before = [p.read_bytes() for p in pages]
    assert all(before)
    for page in pages:
        page.write_bytes(b"")  # renamed into place, never synced
    (out / WRITERS / str(dead_pid())).write_bytes(b"")
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        assert [p.exists() for p in pages] == [False, False, False]
        agg.store.apply([entries[0].__class__(**{**entries[0].__dict__, "key": "s0:new",
                                                 "first_seen": when + timedelta(days=9),
                                                 "content_hash": "new"})], [])
        agg.publish()
    assert [p.read_bytes() for p in pages] == before
