"""The embedded store keeps entries on disk (store/rows.py, store/shards.py): the indexes
hold rows, persisted beside each shard; an answer reads only its entries' shards, and a
bounded number of decoded entries is kept."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from aggregator.errors import StoreCorrupt
from aggregator.models import StoredEntry
from aggregator.store import disk, open_store
from aggregator.store.rows import Row
from aggregator.store.shards import ShardBodies
from aggregator.store.tinydb import TinyDBStore

T0 = datetime(2021, 6, 1, 12, 0, tzinfo=UTC)


def entry(key: str, source: str, days: int = 0, link: str | None = None) -> StoredEntry:
    when = T0 + timedelta(days=days)
    return StoredEntry(key=key, source_id=source, entry_id=f"tag:t,2026:{key}", title=key,
                       link=link, canonical_link=link, published=when, updated=when,
                       first_seen=when, content_hash=key, categories=("x",),
                       own_categories=("x",), story=link or key, fingerprints=(f"fp{days}",))


def filled(path: Path, sources: int = 10, each: int = 5) -> list[StoredEntry]:
    written = [entry(f"s{s}:{n}", f"s{s}", days=n, link=f"https://e.org/{s}/{n}")
               for s in range(sources) for n in range(each)]
    store = open_store(path)
    store.apply(written, [])
    store.close()
    return written


def reads_of(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The store files read, whole or by lines (a few entries of a shard)."""
    reads: list[Path] = []
    real, lines = disk.read_bytes, disk.read_lines
    monkeypatch.setattr(disk, "read_bytes", lambda p: (reads.append(p), real(p))[1])
    monkeypatch.setattr(disk, "read_lines", lambda p, spans: (reads.append(p),
                                                              lines(p, spans))[1])
    return reads


def test_rows_are_written_beside_each_shard_and_say_what_the_indexes_need(
        tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    written = filled(path, sources=2, each=3)
    doc = json.loads(disk.rows_path(path, "s1").read_text())
    assert {k: Row.read(r) for k, r in doc["rows"].items()} == {
        e.key: Row.of(e) for e in written if e.source_id == "s1"}
    assert json.loads(path.read_text())["meta"]["1"]["format"] == disk.FORMAT == 5


def test_a_lookup_reads_only_the_shards_of_its_answer(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "store.json"
    filled(path)
    store = open_store(path, readonly=True)
    reads = reads_of(monkeypatch)
    try:
        found = store.by_canonical("https://e.org/7/2")
        assert [e.key for e in found] == ["s7:2"]
        shards = [p for p in reads if p.parent == disk.shard_dir(path)]
        assert shards == [disk.shard_path(path, "s7")]  # no other source's entries read
        assert [e.key for e in store.entries(source_id="s7")] == [f"s7:{n}" for n in (4, 3, 2,
                                                                                      1, 0)]
        # the lookup read one line of the file; the whole source, the file, then kept
        assert [p for p in reads if p.parent == disk.shard_dir(path)] == shards * 2
        assert len(store.entries(source_id="s7")) == 5
        assert [p for p in reads if p.parent == disk.shard_dir(path)] == shards * 2
    finally:
        store.close()


def test_decoded_entries_kept_are_bounded_whatever_was_read() -> None:
    from aggregator.store.codec import entry_from_dict, entry_to_dict
    shards = {f"s{s}": [entry(f"s{s}:{n}", f"s{s}", n) for n in range(10)] for s in range(50)}
    files = {s: disk.dumps({"entries": {str(i): entry_to_dict(e) for i, e in enumerate(found)}})
             for s, found in shards.items()}
    read: list[str] = []
    decoded: list[str] = []
    bodies = ShardBodies(lambda s: (read.append(s), files[s])[1],
                         lambda s, d: (decoded.append(d["key"]), entry_from_dict(d))[1], str,
                         keep=5, keep_bytes=3 * len(files["s0"]))
    rows = [Row.of(e) for found in shards.values() for e in found]
    assert [e.key for e in bodies.fetch(rows)] == [r.key for r in rows]  # all, in order
    assert len(bodies._decoded) <= 5 and bodies._file_bytes <= 3 * len(files["s0"])
    assert read == list(shards)  # each shard read once for one answer
    assert len(decoded) == 500  # each entry decoded once
    bodies.fetch(rows[-5:])  # the last ones decoded are still kept
    assert read == list(shards) and len(decoded) == 500
    bodies.fetch(rows[-20:-10])  # decoded again, from a file still kept
    assert read == list(shards) and len(decoded) == 510
    bodies.fetch(rows[:1])  # not kept any more: read again, and only it decoded
    assert read == [*shards, "s0"] and len(decoded) == 511


def test_a_read_for_one_pass_keeps_nothing_for_later_answers() -> None:
    """fetch(once=True), as a whole build reads: the shards' files and the entries decoded
    are not kept (the next small publish's are), and the answer is the same."""
    from aggregator.store.codec import entry_from_dict, entry_to_dict
    shards = {f"s{s}": [entry(f"s{s}:{n}", f"s{s}", n) for n in range(10)] for s in range(4)}
    files = {s: disk.dumps({"entries": {str(i): entry_to_dict(e) for i, e in enumerate(found)}})
             for s, found in shards.items()}
    read: list[str] = []
    bodies = ShardBodies(lambda s: (read.append(s), files[s])[1],
                         lambda s, d: entry_from_dict(d), str)
    rows = [Row.of(e) for found in shards.values() for e in found]
    kept = bodies.fetch(rows[:3])  # a small publish's few entries: kept
    assert bodies._decoded and bodies._files and read == ["s0"]
    before = (dict(bodies._decoded), dict(bodies._files), dict(bodies._parsed))
    fresh = ShardBodies(files.__getitem__, lambda s, d: entry_from_dict(d), str)
    assert bodies.fetch(rows, once=True) == fresh.fetch(rows)
    assert read == list(shards)  # s0 as kept, the others read once each
    assert (dict(bodies._decoded), dict(bodies._files), dict(bodies._parsed)) == before
    assert bodies.fetch(rows[:3]) == kept and read == list(shards)  # still at hand


def test_a_store_without_rows_files_is_read_from_its_shards_and_given_them(
        tmp_path: Path) -> None:
    """A store an older version wrote (format 2): its rows come from the shards; the first
    write writes every source's rows file; an older version writing again (format 2 in the
    main file) makes the rows files untrusted until the next write."""
    path = tmp_path / "store.json"
    filled(path, sources=3, each=2)
    main = json.loads(path.read_text())
    main["meta"]["1"]["format"] = 2
    path.write_text(json.dumps(main))
    for rows in disk.rows_dir(path).iterdir():  # stale: as if written before a downgrade
        rows.write_text(json.dumps({"rows": {}}))
    store = open_store(path)
    try:
        assert store.count() == 6 and len(store.entries()) == 6  # read from the shards
        store.apply([entry("s0:9", "s0", days=9)], [])
    finally:
        store.close()
    for s in range(3):
        doc = json.loads(disk.rows_path(path, f"s{s}").read_text())
        assert len(doc["rows"]) == (3 if s == 0 else 2), s
    again = open_store(path, readonly=True)
    try:
        assert [e.key for e in again.entries(source_id="s0")] == ["s0:9", "s0:1", "s0:0"]
    finally:
        again.close()


def test_an_indexed_entry_missing_from_its_shard_is_a_corrupt_store_named(
        tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    filled(path, sources=2, each=2)
    disk.shard_path(path, "s1").write_text(json.dumps({"entries": {}}))
    store = open_store(path, readonly=True)
    try:
        with pytest.raises(StoreCorrupt, match=r"s1\.json: entry .s1:1. is indexed but not"):
            store.entries(source_id="s1")
        assert len(store.entries(source_id="s0")) == 2  # the others still read
    finally:
        store.close()


def test_a_reader_sees_an_unfinished_batch_rows_and_entries(tmp_path: Path) -> None:
    """A journal left by a write that did not finish: a reader sees the batch whole (the
    shards and rows files it holds), the writer replays it."""
    path = tmp_path / "store.json"
    filled(path, sources=2, each=2)
    writer = TinyDBStore(path)
    new = [entry("s1:9", "s1", days=9), entry("s2:0", "s2", days=1)]
    writer.apply(new, [])
    files = writer._files({"s1", "s2"}, {})  # what that write put on disk, as a journal
    writer.close()
    disk.journal_path(path).write_bytes(disk.dumps(
        {str(p.relative_to(path.parent)): orjson.loads(d) if isinstance(d, bytes) else d
         for p, d in files.items()}))
    for p in files:
        if p != path:
            p.unlink()
    reader = open_store(path, readonly=True)
    try:
        assert {e.key for e in reader.entries()} == {"s0:0", "s0:1", "s1:0", "s1:1", "s1:9",
                                                     "s2:0"}
    finally:
        reader.close()


def test_rows_of_another_layout_are_made_again_from_the_shard(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    written = filled(path, sources=2, each=2)
    rows = disk.rows_path(path, "s1")
    doc = json.loads(rows.read_text())
    rows.write_text(json.dumps({"rows": {k: r[:-1] for k, r in doc["rows"].items()}}))
    store = open_store(path)
    try:
        assert [e.key for e in store.fetch(store.rows(source_id="s1"))] == sorted(
            (e.key for e in written if e.source_id == "s1"), reverse=True)
        store.apply([entry("s0:9", "s0", days=9)], [])  # the next write writes them again
    finally:
        store.close()
    again = json.loads(rows.read_text())["rows"]
    assert sorted(again) == sorted(doc["rows"]) and all(
        len(r) == len(Row._fields) for r in again.values())


def test_a_few_entries_are_read_by_their_lines_without_parsing_the_shard(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """disk.dumps writes one entry a line: a page showing two entries of a partner's big
    shard parses those two lines, not the file; a shard an older version wrote on one line
    (or too many entries asked at once) is parsed whole, with the same answer."""
    from aggregator.store import shards
    from aggregator.store.codec import entry_from_dict, entry_to_dict
    found = [entry_from_dict(entry_to_dict(entry(f"p:{n}", "p", n, link=f"https://e.org/p/{n}")))
             for n in range(200)]  # as stored
    table = {"entries": {str(i): entry_to_dict(e) for i, e in enumerate(found, 1)}}
    lines, one_line = disk.dumps(table), json.dumps(table).encode()
    assert json.loads(lines) == json.loads(one_line) and lines.count(b"\n") == 201
    parsed: list[int] = []
    real = shards.orjson.loads

    class Counting:
        JSONDecodeError = shards.orjson.JSONDecodeError
        dumps = staticmethod(shards.orjson.dumps)

        @staticmethod
        def loads(raw: bytes) -> object:
            parsed.append(len(raw))
            return real(raw)

    monkeypatch.setattr(shards, "orjson", Counting)
    rows = [Row.of(found[7]), Row.of(found[150])]
    for raw, whole in ((lines, False), (one_line, True)):
        parsed.clear()
        bodies = ShardBodies(lambda s, raw=raw: raw, lambda s, d: entry_from_dict(d), str)
        assert bodies.fetch(rows) == [found[7], found[150]]
        assert (max(parsed) == len(raw)) is whole
        assert whole or sum(parsed) < len(raw) // 50  # two lines of 200
    parsed.clear()
    bodies = ShardBodies(lambda s: lines, lambda s, d: entry_from_dict(d), str)
    assert bodies.fetch([Row.of(e) for e in found[:100]]) == found[:100]
    assert parsed == [len(lines)]  # many at once: one parse of the file


REPORT = (("info", "format", "An RSS 2.0 feed with 36 entries."),
          ("warning", "ids-missing", "5 entries have no id (guid/id): the hub identifies them "
                                     "by link."))


def test_member_reports_have_their_own_files_written_when_they_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The main file holds every source's state and is written with every poll; the member
    report (~1 KB a source) is in its source's file, written when it changes: a poll
    answered 304 writes the main file alone."""
    from aggregator.models import SourceState
    path = tmp_path / "store.json"
    read_at = T0 + timedelta(days=1)
    store = open_store(path)
    store.apply([], [SourceState("a", report=REPORT, report_at=read_at), SourceState("b")])
    assert "entries have no id" not in path.read_text()
    assert json.loads(disk.report_path(path, "a").read_text())["report"]["lines"] == [
        list(line) for line in REPORT]
    written: list[Path] = []
    real = disk.write_files
    monkeypatch.setattr(disk, "write_files",
                        lambda p, files: (written.extend(files), real(p, files))[1])
    store.apply([], [replace(store.source_state("a"), last_success=read_at)])  # a 304
    assert written == [disk.dirty_path(path), path]
    store.apply([], [replace(store.source_state("a"), report=REPORT[:1])])  # read again
    assert written[2:] == [disk.report_path(path, "a"), disk.dirty_path(path), path]
    store.close()
    again = open_store(path, readonly=True)
    assert again.source_state("a") == store.source_state("a")
    assert again.source_state("a").report == REPORT[:1]
    assert again.source_state("b").report == ()
    again.close()


def test_a_store_with_reports_in_its_main_file_keeps_them_and_moves_them_out(
        tmp_path: Path) -> None:
    """Format 3 kept the reports in the main file: read from there; the first write gives
    each source its report file and takes them out of the main file."""
    from aggregator.models import SourceState
    from aggregator.store.codec import state_to_dict
    path = tmp_path / "store.json"
    store = open_store(path)
    store.apply([], [SourceState("a", report=REPORT)])
    store.close()
    doc = json.loads(path.read_text())
    doc["meta"]["1"]["format"] = 3
    doc["sources"]["1"] = json.loads(json.dumps(state_to_dict(SourceState("a", report=REPORT))))
    path.write_text(json.dumps(doc))
    disk.report_path(path, "a").unlink()
    store = open_store(path)
    assert store.source_state("a").report == REPORT
    store.apply([], [replace(store.source_state("a"), failures=1)])
    assert "entries have no id" not in path.read_text()
    store.close()
    again = open_store(path, readonly=True)
    assert again.source_state("a").report == REPORT
    again.close()


def test_publishing_clears_the_marks_without_writing_the_main_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What changed since the last publish is in a small file of its own: clearing it after
    a publish writes that file, not every source's state again."""
    path = tmp_path / "store.json"
    filled(path, sources=2, each=2)
    store = open_store(path)
    dirty = store.dirty()
    assert dirty.sources == {"s0", "s1"}
    written: list[Path] = []
    real = disk.write_files
    monkeypatch.setattr(disk, "write_files",
                        lambda p, files: (written.extend(files), real(p, files))[1])
    store.clear_dirty(dirty)
    assert written == [disk.dirty_path(path)]
    store.close()
    again = open_store(path, readonly=True)
    assert not again.dirty()
    again.close()


def test_a_few_entries_of_a_shard_are_read_alone_where_its_rows_file_places_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "store.json"
    written = filled(path, sources=2, each=30)
    raw = disk.shard_path(path, "s1").read_bytes()
    lines = json.loads(disk.rows_path(path, "s1").read_text())["lines"]
    assert sorted(lines) == sorted(e.key for e in written if e.source_id == "s1")
    for key, (start, end) in lines.items():  # each span is its entry's line, whole
        assert json.loads(raw[start:end].split(b":", 1)[1])["key"] == key
        assert raw[end:end + 1] in (b",", b"\n") and raw[start - 1:start] == b"\n"
    store = open_store(path, readonly=True)
    reads = reads_of(monkeypatch)
    placed: list[int] = []
    real = disk.read_lines
    monkeypatch.setattr(disk, "read_lines", lambda p, spans: (placed.append(len(spans)),
                                                              real(p, spans))[1])
    try:
        rows = store.rows(source_id="s1")[3:6]
        assert [e.key for e in store.fetch(rows)] == [r.key for r in rows]
        assert placed == [3] and reads.count(disk.shard_path(path, "s1")) == 1  # by lines
        assert [e.title for e in store.fetch(rows)] == [r.key for r in rows]
    finally:
        store.close()


def test_lines_placed_by_a_file_written_since_are_not_trusted(tmp_path: Path) -> None:
    """A reader's places go stale when a writer rewrites the shard (a new entry shifts
    every line after it); a rows file an older version wrote places nothing. Either way
    the file is read and the entries are the right ones."""
    path = tmp_path / "store.json"
    filled(path, sources=1, each=30)
    reader = open_store(path, readonly=True)
    rows = reader.rows(source_id="s0")
    writer = open_store(path)
    writer.apply([entry("s0:00", "s0", days=40, link="https://e.org/0/00")], [])
    writer.close()
    try:
        assert [e.key for e in reader.fetch(rows[20:23])] == [r.key for r in rows[20:23]]
    finally:
        reader.close()
    doc = json.loads(disk.rows_path(path, "s0").read_text())
    disk.rows_path(path, "s0").write_text(json.dumps({"rows": doc["rows"]}))  # no places
    older = open_store(path)
    try:
        again = older.rows(source_id="s0")
        assert [e.key for e in older.fetch(again[5:7])] == [r.key for r in again[5:7]]
        older.apply([entry("s0:01", "s0", days=41)], [])  # the next write places them
    finally:
        older.close()
    assert len(json.loads(disk.rows_path(path, "s0").read_text())["lines"]) == 32
