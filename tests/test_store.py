"""The Store contract on every backend, and the TinyDB file's safety properties."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.errors import StoreCorrupt, StoreError, StoreLocked
from aggregator.models import FeedMeta, Image, SourceState, StoredEntry
from aggregator.store import Store, open_store
from aggregator.store.memory import MemoryStore
from aggregator.stories.order import in_arrival_order
from aggregator.stories.similarity import MAX_CANDIDATES, current, fingerprints, title_signature

T0 = datetime(2021, 6, 1, 12, 0, tzinfo=UTC)


def entry(key: str, source: str = "a", days: int = 0, categories: tuple[str, ...] = ("x",),
          link: str | None = None, **kw: object) -> StoredEntry:
    when = T0 + timedelta(days=days)
    return StoredEntry(key=key, source_id=source, entry_id=f"tag:t,2026:{key}", title=key,
                       link=link, canonical_link=link, published=when, updated=when,
                       first_seen=when, content_hash=key, categories=categories,
                       own_categories=categories, story=link or key,
                       origin=FeedMeta(id="o", title="Origin", updated=when), **kw)  # type: ignore[arg-type]


def test_contract_keeps_pictures(store: Store) -> None:
    pictured = entry("a:1", image=Image("https://img.example/t.jpg", 320, 180))
    store.apply([pictured, entry("a:2")], [])
    assert store.get("a:1") == pictured
    assert store.get("a:2").image is None  # type: ignore[union-attr]


def test_contract_lookups(store: Store) -> None:
    store.apply([entry("a:1", days=1, categories=("x", "y")), entry("a:2", days=3),
                 entry("b:1", "b", days=2, categories=("y",), link="https://x.org/1"),
                 entry("b:2", "b", days=2, link="https://x.org/1", duplicate_of="b:1")],
                [SourceState("a", failures=2, last_error="HTTP 500")])
    assert [e.key for e in store.entries()] == ["a:2", "b:1", "a:1"]
    assert [e.key for e in store.entries(category="y")] == ["b:1", "a:1"]
    assert [e.key for e in store.entries(source_id="b")] == ["b:1"]
    assert [e.key for e in store.entries(source_id="b", include_duplicates=True)] == [
        "b:1", "b:2"]
    assert [e.key for e in store.entries(category="y", source_id="a")] == ["a:1"]
    assert store.entries(category="x", source_id="b") == []
    assert [e.key for e in store.by_canonical("https://x.org/1")] == ["b:1", "b:2"]
    assert [e.key for e in store.copies_of("b:1")] == ["b:2"]
    assert store.get("a:1") == entry("a:1", days=1, categories=("x", "y"))
    assert store.get("zzz") is None
    assert store.source_state("a") == SourceState("a", failures=2, last_error="HTTP 500")
    assert store.count_by_source() == {"a": 2, "b": 2}


def test_contract_lookups_follow_changes_made_before_and_after_they_are_first_asked(
        store: Store) -> None:
    """The embedded store makes its lookup indexes when first asked (a process that only
    publishes never does): changes before that and after it are both found."""
    story = fingerprints("Heavy floods reach the valley towns after three days of rain",
                         "The river rose over its banks in the night, officials said.", None)
    store.apply([entry("a:1", link="https://x.org/1", fingerprints=story),
                 entry("a:2", link="https://x.org/2")], [])
    store.apply([replace(entry("a:2", link="https://x.org/3"), story="s3")], [],
                removed=["a:1"])  # before any lookup
    low, high = T0 - timedelta(days=1), T0 + timedelta(days=1)
    assert store.by_canonical("https://x.org/1") == []
    assert store.by_fingerprint(story[0], low, high) == []
    assert [e.key for e in store.by_canonical("https://x.org/3")] == ["a:2"]
    assert [e.key for e in store.by_story("s3")] == ["a:2"]
    store.apply([entry("b:1", "b", link="https://x.org/1", fingerprints=story)], [],
                removed=["a:2"])  # after
    assert [e.key for e in store.by_canonical("https://x.org/1")] == ["b:1"]
    assert [e.key for e in store.by_fingerprint(story[0], low, high)] == ["b:1"]
    assert store.by_story("s3") == []


def test_a_store_opened_to_publish_never_makes_its_lookup_indexes(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    store = open_store(path)
    store.apply([entry(f"a:{n}", link=f"https://x.org/{n}") for n in range(5)], [])
    store.close()
    store = open_store(path)
    index = store._index  # type: ignore[attr-defined]
    assert [r.key for r in store.arrived()] and len(store.rows()) == 5
    assert store.fetch(store.rows())[0].key.startswith("a:")
    assert index._found is None  # the listing and the entries: no lookup made
    assert [e.key for e in store.by_canonical("https://x.org/3")] == ["a:3"]
    assert index._found is not None
    store.close()


def test_a_store_opened_to_publish_sorts_no_listing_until_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every entry's newest-first sort key is made when a long listing is first sorted
    (a short one makes its own), then kept as entries are written, moved and removed;
    rows read back share their words."""
    from aggregator.store import memory

    path = tmp_path / "store.json"
    store = open_store(path)
    store.apply([entry(f"a:{n}", days=n, categories=("x", "y")) for n in range(6)], [])
    store.close()
    store = open_store(path)
    index = store._index  # type: ignore[attr-defined]
    arrived = store.arrived()
    assert [r.key for r in arrived] == [f"a:{n}" for n in range(6)]
    assert store.fetch(arrived)[0].key == "a:0"
    assert index._order is None  # arrival order and entries: nothing sorted newest first
    assert arrived[0].categories is arrived[5].categories  # one tuple for equal words
    assert arrived[0].source_id is arrived[5].source_id
    assert [r.key for r in store.rows(source_id="a")] == [f"a:{n}" for n in range(5, -1, -1)]
    assert index._order is None  # a short listing: its own keys
    monkeypatch.setattr(memory, "FEW_TO_SORT", 3)
    assert [r.key for r in store.rows(category="x")] == [f"a:{n}" for n in range(5, -1, -1)]
    assert index._order is not None
    store.apply([entry("a:9", days=3), replace(entry("a:5"), title="moved back")], [],
                removed=["a:4"])
    assert [r.key for r in store.rows()] == ["a:3", "a:9", "a:2", "a:1", "a:0", "a:5"]
    assert [r.key for r in store.rows(category="y")] == ["a:3", "a:2", "a:1", "a:0"]
    assert [r.key for r in store.rows(category="y")[:2]] == [
        r.key for r in store.entries(category="y", limit=2)]
    store.close()


def test_contract_takedown_tombstones_are_kept_as_given(store: Store) -> None:
    from aggregator.stories.retention import TAKEDOWN, takedown_link
    store.apply([entry("a:1", link="https://x.org/1"), entry("a:2")], [])
    store.apply([], [], removed=["a:1"], tombstones={
        "a:1": TAKEDOWN, takedown_link("https://x.org/1"): TAKEDOWN})
    assert store.get("a:1") is None and store.is_tombstone("a:1")
    assert store.is_tombstone(takedown_link("https://x.org/1"))
    assert store.tombstones()["a:1"] == TAKEDOWN
    assert store.count_by_source() == {"a": 1}  # a takedown's link is no source
    assert store.oldest() == T0  # nor the oldest date


def test_contract_update_in_place_reindexes(store: Store) -> None:
    store.apply([entry("a:1", categories=("x",))], [])
    store.apply([replace(entry("a:1", categories=("y",)), title="new")], [])
    assert store.entries(category="x") == []
    assert [e.title for e in store.entries(category="y")] == ["new"]
    assert len(store.entries(include_duplicates=True)) == 1


def test_tie_order_is_deterministic(store: Store) -> None:
    store.apply([entry(k) for k in ("c:1", "a:1", "b:1")], [])
    assert [e.key for e in store.entries()] == ["a:1", "b:1", "c:1"]


def test_tinydb_persists(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    s = open_store(path)
    s.apply([entry("a:1", link="https://x.org/1")], [SourceState("a", etag='"e1"')])
    s.close()
    again = open_store(path)
    try:
        assert again.get("a:1") == entry("a:1", link="https://x.org/1")
        assert again.source_state("a") == SourceState("a", etag='"e1"')
    finally:
        again.close()
    main = json.loads(path.read_text())
    assert "entries" not in main and main["sources"]["1"]["etag"] == '"e1"'
    shard = json.loads((tmp_path / "store.json.shards" / "a.json").read_text())
    assert [d["key"] for d in shard["entries"].values()] == ["a:1"]


def test_a_write_replaces_only_the_files_it_touches(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    shards = tmp_path / "store.json.shards"
    s = open_store(path)
    s.apply([entry(f"{src}:{i}", src) for src in "ab" for i in range(50)], [SourceState("a")])
    first = {p.name: p.stat().st_ino for p in [path, *shards.iterdir()]}
    s.apply([entry("a:1", days=1)], [SourceState("a", failures=1)])
    s.close()
    # os.replace gives a new inode per write: files are never rewritten in place
    now = {p.name: p.stat().st_ino for p in [path, *shards.iterdir()]}
    assert now["b.json"] == first["b.json"]
    assert now["a.json"] != first["a.json"] and now["store.json"] != first["store.json"]
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith((".tmp", ".journal"))]


def test_counts_and_states_are_read_without_the_entries(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    s = open_store(path)
    s.apply([entry("a:1", categories=("x", "y")), entry("a:2"),
             entry("b:1", "b", duplicate_of="a:1")], [SourceState("a", failures=2)])
    s.close()
    (tmp_path / "store.json.shards" / "a.json").write_text('{"entries": {"1": {"key": 1}}}')
    reader = open_store(path, readonly=True)
    try:  # a broken shard is never read for these...
        assert (reader.count(), reader.count(category="y"), reader.count(source_id="b")) == (
            2, 1, 0)
        assert reader.count_by_source() == {"a": 2, "b": 1}
        assert reader.copies_by_source() == {"b": 1}
        assert reader.source_state("a") == SourceState("a", failures=2)
        with pytest.raises(StoreCorrupt, match=r"a.json: not a valid store"):
            reader.entries()  # ... and named when it is
    finally:
        reader.close()


_KILLED_MID_BATCH = """
import os, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from test_store import entry
from aggregator.models import SourceState
from aggregator.store import open_store
store = open_store(Path(sys.argv[1]))
real, replaced = os.replace, []
def replace_then_die(src, dst):
    real(src, dst)
    replaced.append(dst)
    if len(replaced) == 2:  # journal, then a's shard: killed before b's shard and the main file
        os._exit(9)
os.replace = replace_then_die
store.apply([entry("a:2", "a"), entry("b:2", "b")], [SourceState("a", failures=7)])
"""


def test_a_batch_killed_mid_write_is_finished_on_next_open(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    s = open_store(path)
    s.apply([entry("a:1", "a"), entry("b:1", "b")], [])
    s.close()
    killed = subprocess.run([sys.executable, "-c", _KILLED_MID_BATCH, str(path),
                             str(Path(__file__).parent)])
    assert killed.returncode == 9
    assert (tmp_path / "store.json.journal").exists()
    reader = open_store(path, readonly=True)  # a reader sees the whole batch already
    try:
        assert [e.key for e in reader.entries()] == ["a:1", "a:2", "b:1", "b:2"]
    finally:
        reader.close()
    writer = open_store(path)  # the next writer finishes it
    writer.close()
    assert not (tmp_path / "store.json.journal").exists()
    again = open_store(path, readonly=True)
    try:
        assert [e.key for e in again.entries()] == ["a:1", "a:2", "b:1", "b:2"]
        assert again.source_state("a") == SourceState("a", failures=7)
        assert again.count() == 4
    finally:
        again.close()


def test_a_store_of_the_first_format_is_read_and_rewritten_as_shards(tmp_path: Path) -> None:
    from aggregator.store.codec import entry_to_dict, state_to_dict
    path = tmp_path / "store.json"
    path.write_text(json.dumps({
        "entries": {"1": entry_to_dict(entry("a:1")), "2": entry_to_dict(entry("b:1", "b"))},
        "sources": {"1": state_to_dict(SourceState("a", etag="e"))}}))
    s = open_store(path)
    try:
        assert s.count() == 2 and s.source_state("a") == SourceState("a", etag="e")
        s.apply([], [SourceState("b")])
    finally:
        s.close()
    assert "entries" not in json.loads(path.read_text())
    assert sorted(p.name for p in (tmp_path / "store.json.shards").iterdir()) == [
        "a.json", "b.json"]
    again = open_store(path, readonly=True)
    try:
        assert [e.key for e in again.entries()] == ["a:1", "b:1"]
    finally:
        again.close()


def test_corrupt_store_is_a_clear_error_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    path.write_bytes(b'{"entries": {"1": {"key": "a:1", "title": ')
    before = path.read_bytes()
    with pytest.raises(StoreCorrupt, match=r"store.json: not a valid store file"):
        open_store(path)
    assert path.read_bytes() == before


def test_a_row_that_is_not_valid_names_its_rows_file(tmp_path: Path) -> None:
    """Rows are laid out again by date once read (rows.laid_out_by_date); one that is not
    valid still names the rows file it is in, which is left as it was."""
    import json

    from aggregator.store import disk

    path = tmp_path / "store.json"
    store = open_store(path)
    store.apply([entry("a:1"), entry("b:1", source="b", days=1), entry("c:1", source="c")], [])
    store.close()
    where = disk.rows_path(path, "b")
    doc = json.loads(where.read_text())
    doc["rows"]["b:1"][2] = "not a date"
    where.write_text(json.dumps(doc))
    before = where.read_bytes()
    again = open_store(path)
    with pytest.raises(StoreCorrupt, match=rf"{where.name}: not a valid store \(ValueError"):
        again.arrived()
    again.close()
    assert where.read_bytes() == before
    doc["rows"]["b:1"][2] = 20260101  # not even text: the same error
    where.write_text(json.dumps(doc))
    again = open_store(path)
    with pytest.raises(StoreCorrupt, match=rf"{where.name}: not a valid store"):
        again.arrived()
    again.close()


def test_store_with_wrong_documents_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    path.write_text('{"entries": {"1": {"title": "no key"}}}')
    with pytest.raises(StoreCorrupt, match="left untouched"):
        open_store(path)


def test_second_writer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    first = open_store(path)
    try:
        with pytest.raises(StoreLocked, match="another aggregator process"):
            open_store(path)
        # ... also from another process
        code = ("import sys; from pathlib import Path; from aggregator.store import open_store\n"
                "from aggregator.errors import StoreLocked\n"
                "try:\n    open_store(Path(sys.argv[1]))\nexcept StoreLocked:\n"
                "    sys.exit(3)\n")
        assert subprocess.run([sys.executable, "-c", code, str(path)]).returncode == 3
        # a reader still works while the writer holds the lock
        reader = open_store(path, readonly=True)
        with pytest.raises(StoreError, match="read-only"):
            reader.apply([entry("a:1")], [])
        reader.close()
    finally:
        first.close()
    open_store(path).close()  # released on close


def test_a_removed_lock_file_never_lets_two_writers_overwrite_each_other(tmp_path: Path
                                                                         ) -> None:
    path = tmp_path / "store.json"
    first = open_store(path)
    try:
        first.apply([entry("a:1")], [])
        path.with_name("store.json.lock").unlink()  # an operator "cleaning up"
        second = open_store(path)  # a new lock file: the second writer gets in
        second.apply([entry("b:1")], [])
        assert "another process holds the new one" in (first.hold_lock() or "")
        with pytest.raises(StoreLocked, match=r"lock file .* was removed or replaced"):
            first.apply([entry("a:2")], [])  # refused while the other holds it
        second.close()
        with pytest.raises(StoreError, match="changed by another process"):
            first.apply([entry("a:2")], [])  # the lock taken again; the files read again
        first.apply([entry("a:2")], [])  # and on it goes, without a restart
    finally:
        first.close()
    again = open_store(path)
    try:
        assert [e.key for e in again.entries()] == ["a:1", "a:2", "b:1"]  # nothing lost
    finally:
        again.close()


def test_a_removed_lock_file_is_taken_again_before_another_writer_gets_in(tmp_path: Path
                                                                         ) -> None:
    path = tmp_path / "store.json"
    first = open_store(path)
    try:
        path.with_name("store.json.lock").unlink()
        assert first.hold_lock() is None  # made again and taken
        assert path.with_name("store.json.lock").exists()
        with pytest.raises(StoreLocked, match="open for writing by another"):
            open_store(path)  # a concurrent poll is refused again
        first.apply([entry("a:1")], [])
    finally:
        first.close()


def test_a_store_changed_on_disk_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    s = open_store(path)
    try:
        s.apply([entry("a:1")], [])
        path.write_text(path.read_text())  # rewritten by someone else (same content even)
        with pytest.raises(StoreError, match="changed by another process"):
            s.apply([entry("a:2")], [])
    finally:
        s.close()


def test_stale_temporaries_of_crashed_writes_are_removed_on_open(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    open_store(path).close()
    stale = tmp_path / ".store.json.4242.tmp"
    stale.write_bytes(b"x" * 1000)
    other = tmp_path / ".other.json.4242.tmp"  # not this store's
    other.write_bytes(b"x")
    open_store(path).close()
    assert not stale.exists() and other.exists()


def test_failed_write_keeps_the_previous_file(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "store.json"
    s = open_store(path)
    s.apply([entry("a:1")], [])
    before = path.read_bytes()

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(StoreError, match="cannot write store"):
        s.apply([entry("a:2")], [])
    monkeypatch.undo()
    s.close()
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_contract_stories_dates_and_tombstones(store: Store) -> None:
    a = replace(entry("a:1", days=0, link="https://x.org/1"), story="s1")
    b = replace(entry("b:1", "b", days=2, link="https://y.org/2"), story="s1",
                duplicate_of="a:1")
    c = entry("c:1", "c", days=9)
    store.apply([a, b, c], [])
    assert [e.key for e in store.by_story("s1")] == ["a:1", "b:1"]
    assert store.copies_by_source() == {"b": 1}
    window = store.published_between(T0 - timedelta(days=1), T0 + timedelta(days=3))
    assert [e.key for e in window] == ["a:1", "b:1"]
    store.apply([], [], removed=["b:1", "c:1"])
    assert store.get("b:1") is None and store.is_tombstone("b:1")
    assert store.tombstones() == {"b:1": b.published, "c:1": c.published}
    assert [e.key for e in store.by_story("s1")] == ["a:1"]
    assert store.copies_of("a:1") == [] and store.count_by_source() == {"a": 1, "b": 0, "c": 0}
    assert store.copies_by_source() == {}
    store.apply([], [], forgotten=["c:1"])
    assert store.tombstones() == {"b:1": b.published}


def test_tinydb_keeps_tombstones(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    s = open_store(path)
    s.apply([entry("a:1"), entry("a:2")], [])
    s.apply([], [], removed=["a:1"])
    s.close()
    again = open_store(path)
    try:
        assert again.is_tombstone("a:1") and again.get("a:2") is not None
        assert [e.key for e in again.entries()] == ["a:2"]
    finally:
        again.close()


def test_contract_fingerprints_are_bounded_and_windowed(store: Store) -> None:
    batch = [replace(entry(f"s{i}:1", f"s{i}", days=i % 20), fingerprints=("o8.3:tpl", f"o8.3:{i}"))
             for i in range(300)]
    store.apply(batch, [])
    found = store.by_fingerprint("o8.3:tpl", T0, T0 + timedelta(days=4))
    assert len(found) == MAX_CANDIDATES  # a template bucket returns its nearest, no more
    assert all(T0 <= e.published <= T0 + timedelta(days=4) for e in found)
    assert [e.published for e in found] == sorted(e.published for e in found)
    middle = T0 + timedelta(days=2)
    inside = [e for e in batch if T0 <= e.published <= T0 + timedelta(days=4)]
    left_out = [e for e in inside if e.key not in {f.key for f in found}]
    assert max(abs(e.published - middle) for e in found) <= min(
        abs(e.published - middle) for e in left_out)  # nearest the middle of the window
    assert [e.key for e in store.by_fingerprint("o8.3:7", T0, T0 + timedelta(days=30))] == ["s7:1"]
    store.apply([], [], removed=["s7:1"])
    assert store.by_fingerprint("o8.3:7", T0, T0 + timedelta(days=30)) == []


def test_contract_fingerprints_filter_by_title_signature(store: Store) -> None:
    titles = ["Leeds funds a night bus network", "Gdansk funds language classes",
              "Via Cities Alliance: Leeds funds a night bus network"]
    store.apply([replace(entry(f"s{i}:1", f"s{i}", days=1), title=t, fingerprints=("o8.3:tpl",))
                 for i, t in enumerate(titles)], [])
    window = (T0, T0 + timedelta(days=4))
    assert len(store.by_fingerprint("o8.3:tpl", *window)) == 3  # no signature: every one
    mine = title_signature("Leeds funds a night bus network")
    assert [e.key for e in store.by_fingerprint("o8.3:tpl", *window, mine)] == ["s0:1", "s2:1"]


@pytest.mark.parametrize("stored", [None, ["o8:0123456789abcdef"]])  # none yet; first version
def test_entries_from_older_stores_are_re_keyed_on_load(stored: list[str] | None) -> None:
    from aggregator.store.codec import entry_from_dict, entry_to_dict
    e = replace(entry("a:1"), title="Leeds funds a night bus network",
                summary=" ".join(f"word{i}" for i in range(20)))
    e = replace(e, fingerprints=fingerprints(e.title, e.summary, e.guid))
    d = entry_to_dict(e)
    if stored is None:
        del d["fingerprints"]
    else:
        d["fingerprints"] = stored
    assert entry_from_dict(d).fingerprints == e.fingerprints != ()
    assert current(list(e.fingerprints))


def test_contract_due_reads_the_schedule(store: Store) -> None:
    now = T0 + timedelta(days=1)
    store.apply([], [SourceState("later", next_check_at=now + timedelta(hours=1)),
                     SourceState("soon", next_check_at=now - timedelta(minutes=5)),
                     SourceState("first", next_check_at=now - timedelta(hours=2)),
                     SourceState("unset"),
                     SourceState("gone", gone=True)])
    assert store.due(now, 10) == ["unset", "first", "soon"]
    assert store.due(now, 2) == ["unset", "first"]
    store.apply([], [SourceState("soon", next_check_at=now + timedelta(days=1)),
                     SourceState("gone", gone=False, next_check_at=now)])
    assert store.due(now, 10) == ["unset", "first", "gone"]  # moved and re-enabled


def test_the_schedule_survives_a_restart(tmp_path: Path) -> None:
    now = T0 + timedelta(days=1)
    first = open_store(tmp_path / "store.json")
    first.apply([], [SourceState("a", next_check_at=now - timedelta(hours=1)),
                     SourceState("b", next_check_at=now + timedelta(hours=1))])
    first.close()
    again = open_store(tmp_path / "store.json", readonly=True)
    try:
        assert again.due(now, 10) == ["a"]
    finally:
        again.close()


def test_contract_category_counts_follow_every_write(store: Store) -> None:
    def agree() -> None:
        counts = store.count_by_category()
        for c in ("x", "y", "z"):
            assert counts.get(c, 0) == len(store.entries(category=c)), c
    store.apply([entry("a:1", categories=("x", "y")), entry("b:1", "b", categories=("x",)),
                 entry("c:1", "c", categories=("y",), duplicate_of="a:1")], [])
    agree()
    assert store.count_by_category() == {"x": 2, "y": 1}
    store.apply([entry("a:1", categories=("z",)),  # recategorized
                 entry("c:1", "c", categories=("y",))], [])  # no longer a copy
    agree()
    store.apply([], [], removed=["b:1"])
    agree()
    assert store.count_by_category() == {"y": 1, "z": 1}


def test_contract_counts_agree_with_the_listing(store: Store) -> None:
    store.apply([entry("a:1", categories=("x", "y")), entry("a:2", categories=("y",)),
                 entry("b:1", "b", categories=("x",), duplicate_of="a:1")], [])
    for category in (None, "x", "y", "nope"):
        for source in (None, "a", "b", "nope"):
            assert store.count(category, source) == len(store.entries(category, source))
    assert store.count() == 2


def test_contract_a_claim_holds_for_its_lease(store: Store) -> None:
    now = T0 + timedelta(days=1)
    lease = timedelta(minutes=5)
    store.apply([], [SourceState("a", next_check_at=now - timedelta(hours=1)),
                     SourceState("b", next_check_at=now - timedelta(minutes=1)),
                     SourceState("c", next_check_at=now + timedelta(hours=1))])
    assert store.claim_due(now, 1, lease) == ["a"]
    assert store.claim_due(now, 10, lease) == ["b"]  # a is claimed: not handed out twice
    assert store.claim_due(now + timedelta(minutes=4), 10, lease) == []
    # a claimer that died: its sources come back when the lease ends
    assert store.claim_due(now + lease, 10, lease) == ["a", "b"]
    state = store.source_state("a")
    assert state is not None and state.next_check_at == now + 2 * lease


def test_threads_asking_at_once_read_the_entries_once(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from aggregator.store import disk
    path = tmp_path / "store.json"
    s = open_store(path)
    s.apply([entry(f"s{i % 20}:{i}", f"s{i % 20}", days=i % 30) for i in range(400)], [])
    s.close()
    reads: list[Path] = []
    real = disk.read_bytes

    def counted(p: Path) -> bytes:
        reads.append(p)
        return real(p)

    monkeypatch.setattr(disk, "read_bytes", counted)
    lines = disk.read_lines  # a few lines of a shard: counted too
    monkeypatch.setattr(disk, "read_lines", lambda p, spans: (reads.append(p),
                                                              lines(p, spans))[1])
    again = open_store(path, readonly=True)
    reads.clear()  # the main file's read
    start = threading.Barrier(8)

    def ask(n: int) -> None:
        start.wait()
        again.entries(source_id=f"s{n}")

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:  # every source's rows once (the indexes), the 8 asked-for shards once each
        assert sorted(reads) == sorted(
            [disk.rows_path(path, f"s{i}") for i in range(20)]
            + [disk.shard_path(path, f"s{n}") for n in range(8)])
        assert len(again.published_between(T0, T0 + timedelta(days=31))) == 400
    finally:
        again.close()


def test_contract_oldest_covers_entries_and_tombstones(store: Store) -> None:
    assert store.oldest() is None
    store.apply([entry("a:1", days=5), entry("a:2", days=2)], [])
    assert store.oldest() == T0 + timedelta(days=2)
    store.apply([], [], removed=["a:2"])  # a tombstone keeps its date
    assert store.oldest() == T0 + timedelta(days=2)
    store.apply([], [], forgotten=["a:2"])
    assert store.oldest() == T0 + timedelta(days=5)


def test_oldest_is_known_without_reading_the_entries(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    s = open_store(path)
    s.apply([entry("a:1", days=5), entry("b:1", "b", days=1)], [])
    s.close()
    (tmp_path / "store.json.shards" / "a.json").write_text("{broken")
    again = open_store(path, readonly=True)
    try:
        assert again.oldest() == T0 + timedelta(days=1)  # the broken shard was never read
    finally:
        again.close()


def test_a_first_load_in_any_order_gives_the_same_date_index() -> None:
    """A first load sorts its date index once, at the end (store/memory.py): entries in any
    order, and one key read twice (the later copy wins), give what writes give."""
    stored = [entry(f"a:{n}", days=(n * 7) % 11) for n in range(30)]
    twice = replace(stored[3], title="read again", published=T0 + timedelta(days=20))
    loaded = MemoryStore()
    loaded.load(entries=[*reversed(stored[:15]), twice, *reversed(stored[15:])])
    written = MemoryStore()
    written.apply([*stored, twice], [])
    for low, high in ((-1, 30), (2, 6), (0, 0), (9, 21)):
        window = (T0 + timedelta(days=low), T0 + timedelta(days=high))
        assert [e.key for e in loaded.published_between(*window)] == [
            e.key for e in written.published_between(*window)], (low, high)
    assert loaded.get("a:3") == twice
    assert loaded.entries() == written.entries()


def test_a_key_read_twice_in_a_first_load_keeps_only_its_later_date() -> None:
    old, other = entry("a:1", days=10), entry("b:1", "b", days=5)
    new = replace(old, title="read again", published=T0 + timedelta(days=20))
    loaded = MemoryStore()
    loaded.load(entries=[old, other, new])
    assert loaded.published_between(T0 + timedelta(days=9), T0 + timedelta(days=11)) == []
    assert loaded.published_between(T0, T0 + timedelta(days=30)) == [other, new]


def test_retention_never_forgets_a_takedown() -> None:
    from aggregator.config import RetentionSettings
    from aggregator.stories.retention import TAKEDOWN, plan_pruning, takedown_link
    store = MemoryStore()
    store.apply([entry("a:1", days=-400), entry("a:2", days=-300)], [])
    store.apply([], [], removed=["a:1", "a:2"],
                tombstones={"a:1": TAKEDOWN, takedown_link("https://x.org/1"): TAKEDOWN})
    pruning = plan_pruning(store, ("x",), RetentionSettings(max_age=timedelta(days=30),
                                                            max_tombstones=0), T0)
    assert pruning.forgotten == ("a:2",)  # the old retention tombstone goes, not the others


def test_contract_rows_are_the_listing_without_the_text_and_fetch_gives_the_entries(
        store: Store) -> None:
    from aggregator.store.rows import Row
    first = [entry("a:1", days=3, categories=("x", "y")), entry("a:2", days=1),
             entry("b:1", "b", days=2, categories=("y",)),
             entry("b:2", "b", days=2, categories=("y",), duplicate_of="a:1")]
    store.apply(first, [])
    for args in ((), ("y",), (None, "b"), ("y", "b")):
        assert store.rows(*args) == [Row.of(e) for e in store.entries(*args)], args
    assert [r.key for r in store.rows(include_duplicates=True)] == ["a:1", "b:1", "b:2", "a:2"]
    assert store.arrived() == in_arrival_order(store.rows(include_duplicates=True))
    assert [r.key for r in store.arrived()] == ["a:2", "b:1", "b:2", "a:1"]  # seen, then key
    listed = store.rows()
    changed = replace(first[2], title="changed", content_hash="new")
    store.apply([changed], [], removed=["a:2"])
    # as stored now, in the rows' order; the removed one left out
    assert store.fetch(listed) == [first[0], changed]
    assert store.fetch([]) == []
    # arrivals that share a first seen, one entry's publication moved: still by arrival
    seen = first[0].first_seen
    same = [replace(entry(f"c:{n}", "c", days=5 - n), first_seen=seen) for n in range(4)]
    store.apply([*same, replace(first[0], published=first[0].published - timedelta(days=9),
                                content_hash="moved")], [])
    assert store.arrived() == in_arrival_order(store.rows(include_duplicates=True))
    assert [r.key for r in store.arrived()] == ["b:1", "b:2", "a:1", "c:3", "c:2", "c:1",
                                                "c:0"]  # seen, then published, then key


def test_rows_are_laid_out_by_date_as_the_same_rows() -> None:
    """Copies in (published, key) order, each with a date of its own that the fields equal
    to it share, as Row.read made them; nothing else differs."""
    from aggregator.store.rows import Row, laid_out_by_date

    cycle = T0 + timedelta(days=9)
    rows = [Row.of(replace(entry(f"a:{n}", days=n % 3), first_seen=cycle if n % 2 else
                           T0 + timedelta(days=n % 3))) for n in range(7)]
    rows = [r._replace(updated=r.published, first_seen=r.published if r.first_seen != cycle
                       else cycle) for r in rows]
    laid = laid_out_by_date(list(rows))
    assert laid == sorted(rows, key=lambda r: (r.published, r.key))
    for r in laid:
        old = next(o for o in rows if o.key == r.key)
        assert r is not old and r.published is not old.published
        assert r.updated is r.published
        assert (r.first_seen is r.published) == (old.first_seen is old.published)
        assert r.first_seen is cycle or r.first_seen is r.published
