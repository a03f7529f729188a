"""The embedded default store: TinyDB files, written safely, opened fast.

TinyDB's own JSONStorage rewrites the whole file in place on every operation, so a crash
mid-write corrupts it, and it has no protection against a second process. Here (disk.py has
the layout):

- one writer: an exclusive ``flock`` on ``<store>.lock`` held for the store's lifetime;
- one write per ``apply``: TinyDB works on in-memory documents (orjson storage), ``apply``
  writes the main file and the shards of the sources it touched, all or nothing;
- opened fast: the main file (states, events, tombstones, counts) is read at open; the
  entries' rows (store/rows.py: what the indexes need, persisted beside each shard) when an
  entry is first asked for, so ``status`` and counts never read them;
- entries stay on disk: lookups go through a composed MemoryStore's indexes of rows, not
  TinyDB queries, and read only the shards of the entries they answer with (store/shards.py
  keeps the recently read ones, a bounded number).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tinydb import TinyDB

from aggregator.dates import from_iso, iso
from aggregator.errors import StoreCorrupt, StoreError, StoreLocked
from aggregator.files import owner_of, user_name
from aggregator.models import Dirty, SourceEvent, SourceState, StoredEntry
from aggregator.store import disk
from aggregator.store.bulk import kept_in_bulk
from aggregator.store.codec import (
    entry_from_dict,
    entry_to_dict,
    event_from_dict,
    event_to_dict,
    state_from_dict,
    state_to_dict,
)
from aggregator.store.memory import MAX_EVENTS, MemoryStore
from aggregator.store.rows import Row, laid_out_by_date
from aggregator.store.shards import ShardBodies, line_documents

log = logging.getLogger("aggregator.store")

ENTRIES, SOURCES, EVENTS, TOMBSTONES, META = "entries", "sources", "events", "tombstones", "meta"


class TinyDBStore:
    """The Store protocol on TinyDB files; a MemoryStore holds what has been read."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self._lock_fd: int | None = None
        self._new_index()
        self._reading = threading.Lock()  # fetch threads may ask for entries at once
        try:
            if not readonly:
                self._lock()
                disk.remove_stale_temporaries(path)
                disk.recover(path)
            self._read_main()
        except BaseException:
            self.close()
            raise

    # -- opening -----------------------------------------------------------------------------

    def _lock(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except PermissionError as e:
            raise StoreError(f"{self.path}: cannot open the store for writing: "
                             f"{e.strerror} on {lock_path} (it belongs to {owner_of(lock_path)}"
                             f"; this command runs as {user_name(os.geteuid())}): run it as "
                             f"{owner_of(lock_path)}") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            os.close(fd)
            raise StoreLocked(f"{self.path}: the store is open for writing by another "
                              f"aggregator process (lock file {lock_path})") from e
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # the lock of a file that is gone
        self._lock_fd = fd

    def _new_index(self) -> None:
        self._bodies = ShardBodies(self._read_shard, self._decode, self._shard_name,
                                   read_lines=self._read_lines)
        self._index = MemoryStore(self._bodies)
        self._entries_read = False  # the rows, that is: entries are read by the shard
        self._unlisted: set[str] = set()  # sources whose rows are not on disk yet
        # where each entry's line is in its shard's file, by source (its rows file says)
        self._spans: dict[str, dict[str, tuple[int, int]]] = {}
        self._shard_paths: dict[str, Path] = {}  # see _shard_path

    def _read_main(self) -> None:
        """States, events, tombstones and counts; a reader also sees an unfinished batch."""
        self._pending = disk.pending(self.path) if self.readonly else {}
        doc = self._pending.get(self.path) or disk.read_doc(self.path)
        self._seen = disk.identity(self.path)
        self._db = TinyDB(storage=disk.StorageFactory(
            disk.OrjsonStorage(doc, self.readonly, self.path)))
        with _corrupt_is_clear(self.path):
            meta = self._meta()
            self._revision = int(meta.get("revision", 0))
            self._counts: dict[str, dict[str, int]] = meta.get("counts") or {}
            self._oldest_entry = from_iso(meta.get("oldest"))
            marks = self._marks(meta)
            dirty = Dirty.kept(*(marks.get(k) or () for k in (
                "categories", "languages", "sources", "months")))
            self._legacy = ENTRIES in doc  # format 1: entries in the main file
            self._rows_kept = int(meta.get("format", 1)) >= 3  # rows files in step
            self._marks_apart = int(meta.get("format", 1)) >= 5
            states = self._states(self._db.table(SOURCES).all(), int(meta.get("format", 1)))
            self._index.load(
                states=states,
                events=[event_from_dict(d) for d in self._db.table(EVENTS).all()],
                tombstones={d["key"]: datetime.fromisoformat(d["published"])
                            for d in self._db.table(TOMBSTONES).all()}, dirty=dirty)
            if self._legacy:
                self._read_entries()

    def _states(self, docs: list[Any], version: int) -> list[SourceState]:
        """The sources' states, each with its member report: from its own file (format 4),
        or from the main file where earlier versions kept it (written out at the next
        write)."""
        states = []
        for d in docs:
            if version >= 4:
                where = disk.report_path(self.path, d["source_id"])
                found = self._pending.get(where) or disk.read_doc(where)
                d = {**d, "report": found.get("report", {}).get("lines", []) if found else []}
            states.append(state_from_dict(d))
        self._reports_on_disk = {s.source_id: s.report for s in states} if version >= 4 else {}
        return states

    def _marks(self, meta: dict[str, Any]) -> dict[str, Any]:
        """The dirty marks: in their own file (format 5), else in the main file's meta."""
        if int(meta.get("format", 1)) < 5:
            return meta.get("dirty") or {}
        where = disk.dirty_path(self.path)
        doc = self._pending.get(where) or disk.read_doc(where)
        return dict(doc.get("dirty", {}).get("marks") or {})

    def _dirty(self) -> disk.Document:
        dirty = self._index.dirty()
        return {"dirty": {"marks": {
            "categories": sorted(dirty.categories), "languages": sorted(dirty.languages),
            "sources": sorted(dirty.sources), **_months(dirty)}}}

    def _meta(self) -> dict[str, Any]:
        docs = self._db.table(META).all()
        return dict(docs[0]) if docs else {}

    def _read_entries(self) -> MemoryStore:
        """The entries, read on first need (once, whichever thread asks first)."""
        if self._entries_read:
            return self._index
        with self._reading:
            if not self._entries_read:
                self._read_all_entries()
        return self._index

    def _read_all_entries(self) -> None:
        """Every entry's row: from the rows files, else (a store an older version wrote,
        or a rows file missing) from the entries of the shard, then written at the next
        write."""
        sources = set(disk.shard_sources(self.path))
        sources |= {disk.shard_source(p) for p in self._pending if p.parent
                    == disk.shard_dir(self.path)}
        if self._legacy:
            sources |= {d["source_id"] for d in self._db.table(ENTRIES).all()}
        rows: list[Row] = []
        with kept_in_bulk():
            for source_id in sorted(sources):
                kept = self._kept_rows(source_id)
                if kept is None:
                    self._unlisted.add(source_id)
                    kept = [Row.of(e) for e in self._bodies.shard(source_id).values()]
                rows += kept
            # at once: its sorted indexes are sorted once, the rows laid out by date
            self._index.load(rows=laid_out_by_date(rows))
        self._entries_read = True

    def _kept_rows(self, source_id: str) -> list[Row] | None:
        if not self._rows_kept or self._legacy:
            return None
        where = disk.rows_path(self.path, source_id)
        doc = self._pending.get(where) or disk.read_doc(where)
        if not doc:
            return None
        table = doc.get("rows")
        raw: list[list[Any]] = [r for r in table.values() if isinstance(r, list) and len(r)
                                == len(Row._fields)] if isinstance(table, dict) else []
        if not isinstance(table, dict) or len(raw) != len(table):
            return None  # not rows of this layout: made again from the shard
        with _corrupt_is_clear(where):
            rows = [Row.read(r) for r in raw]
        spans = doc.get("lines")
        if isinstance(spans, dict) and all(
                isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) for x in v)
                for v in spans.values()):
            self._spans[source_id] = {k: (v[0], v[1]) for k, v in spans.items()}
        return rows

    def _read_lines(self, source_id: str, keys: list[str]) -> dict[str, Any] | None:
        """The documents of ``keys``, each read alone from its line of the shard's file, as
        the rows file places them; None when one is not there so (the file changed since,
        or was written by a version that did not place them): the caller reads the file."""
        spans = self._spans.get(source_id)
        if spans is None or self._legacy or 2 * len(keys) > len(spans) or \
                not all(k in spans for k in keys):
            return None  # (most of a shard: the file is read whole, in one call)
        where = self._shard_path(source_id)
        if self._pending and where in self._pending:
            return None
        lines = disk.read_lines(where, [spans[k] for k in keys])
        return None if lines is None else line_documents(keys, lines)

    def _read_shard(self, source_id: str) -> bytes:
        """A source's shard file as stored (an unfinished batch's, for a reader; with the
        source's entries of a format-1 main file)."""
        where = self._shard_path(source_id)
        pending = self._pending.get(where)
        if not self._legacy:
            return disk.dumps(pending) if pending is not None else disk.read_bytes(where)
        doc = disk.read_doc(where) if pending is None else pending
        table = dict(doc.get(ENTRIES, {}))
        table.update((f"main-{i}", d) for i, d in enumerate(self._db.table(ENTRIES).all())
                     if d["source_id"] == source_id)
        return disk.dumps({ENTRIES: table})

    def _decode(self, source_id: str, doc: Any) -> StoredEntry:
        try:
            return entry_from_dict(doc)
        except (KeyError, TypeError, ValueError, AttributeError):  # named: the shard's path
            with _corrupt_is_clear(disk.shard_path(self.path, source_id)):  # is made only now
                return entry_from_dict(doc)  # (per entry, it was a tenth of the decoding)

    def _shard_path(self, source_id: str) -> Path:
        """A source's shard file (each made once: a whole build reads 72,000 entries by
        their lines, and making the path each time was a twentieth of reading them)."""
        found = self._shard_paths.get(source_id)
        if found is None:
            found = self._shard_paths[source_id] = disk.shard_path(self.path, source_id)
        return found

    def _shard_name(self, source_id: str) -> str:
        return str(disk.shard_path(self.path, source_id))

    # -- reads that never need the entries ---------------------------------------------------

    def source_state(self, source_id: str) -> SourceState | None:
        return self._index.source_state(source_id)

    def source_states(self) -> dict[str, SourceState]:
        return self._index.source_states()

    def due(self, now: datetime, limit: int) -> list[str]:
        return self._index.due(now, limit)

    def events(self, limit: int = 100) -> list[SourceEvent]:
        return self._index.events(limit)

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[str]:
        ids = self._index.due(now, limit)
        self.apply([], [replace(s, next_check_at=now + lease)
                        for s in map(self._index.source_state, ids) if s is not None])
        return ids

    def is_tombstone(self, key: str) -> bool:
        return self._index.is_tombstone(key)

    def tombstones(self) -> dict[str, datetime]:
        return self._index.tombstones()

    @property
    def revision(self) -> int:
        return self._revision

    def dirty(self) -> Dirty:
        return self._index.dirty()

    def clear_dirty(self, published: Dirty) -> None:
        if self.readonly or not published:
            return  # a reader's publish leaves the markers for the writer's
        self._lock_again()
        self._index.clear_dirty(published)
        if self._marks_apart:  # only the marks' file: the main file (every source's state,
            # 1.9 MB at 2,000 sources) was written with the entries
            disk.write_files(self.path, {disk.dirty_path(self.path): self._dirty()})
        else:
            self._write(set())

    def oldest(self) -> datetime | None:
        if self._entries_read:
            return self._index.oldest()
        entries = self._oldest_entry  # from the main file: the entries need not be read
        stones = min(self._index.tombstones().values(), default=None)
        return min((d for d in (entries, stones) if d is not None), default=None)

    def count(self, category: str | None = None, source_id: str | None = None) -> int:
        if self._entries_read or (category is not None and source_id is not None):
            return self._read_entries().count(category, source_id)
        if category is not None:
            return self._counts.get("category", {}).get(category, 0)
        shown = self._counts.get("shown_source", {})
        return shown.get(source_id, 0) if source_id is not None else sum(shown.values())

    def count_by_category(self) -> dict[str, int]:
        return self._counted("category")

    def count_by_source(self) -> dict[str, int]:
        return self._counted("source")

    def copies_by_source(self) -> dict[str, int]:
        return self._counted("copies")

    def _counted(self, kind: str) -> dict[str, int]:
        if self._entries_read:
            return self._index.counts()[kind]
        return dict(self._counts.get(kind, {}))

    # -- reads of entries --------------------------------------------------------------------

    def get(self, key: str) -> StoredEntry | None:
        return self._read_entries().get(key)

    def by_canonical(self, link: str) -> list[StoredEntry]:
        return self._read_entries().by_canonical(link)

    def by_story(self, story: str) -> list[StoredEntry]:
        return self._read_entries().by_story(story)

    def published_between(self, low: datetime, high: datetime) -> list[StoredEntry]:
        return self._read_entries().published_between(low, high)

    def by_fingerprint(self, fingerprint: str, low: datetime, high: datetime,
                       title_bits: int | None = None) -> list[StoredEntry]:
        return self._read_entries().by_fingerprint(fingerprint, low, high, title_bits)

    def copies_of(self, key: str) -> list[StoredEntry]:
        return self._read_entries().copies_of(key)

    def rows(self, category: str | None = None, source_id: str | None = None,
             include_duplicates: bool = False) -> list[Row]:
        return self._read_entries().rows(category, source_id, include_duplicates)

    def arrived(self) -> list[Row]:
        return self._read_entries().arrived()

    def fetch(self, rows: Sequence[Row], once: bool = False) -> list[StoredEntry]:
        return self._read_entries().fetch(rows, once)

    def entries(self, category: str | None = None, source_id: str | None = None,
                include_duplicates: bool = False, limit: int | None = None
                ) -> list[StoredEntry]:
        return self._read_entries().entries(category, source_id, include_duplicates, limit)

    # -- writes ------------------------------------------------------------------------------

    def apply(self, entries: Sequence[StoredEntry], states: Sequence[SourceState],
              events: Sequence[SourceEvent] = (), removed: Sequence[str] = (),
              forgotten: Sequence[str] = (), tombstones: Mapping[str, datetime] | None = None
              ) -> None:
        if self.readonly:
            raise StoreError(f"{self.path}: store opened read-only")
        if not (entries or states or events or removed or forgotten or tombstones):
            return
        index = self._read_entries() if entries or removed else self._index
        touched = {e.source_id for e in entries}
        touched |= {gone.source_id for gone in map(index.row, removed) if gone is not None}
        self._lock_again()
        index.apply(entries, states, events, removed, forgotten, tombstones)
        if entries or removed:
            self._revision += 1
        self._write(touched)

    def _write(self, touched: set[str]) -> None:
        if self._legacy:  # the first write of a one-file store moves every entry to shards
            touched = touched | set(self._index.count_by_source())
        spans: dict[str, dict[str, tuple[int, int]]] = {}
        try:
            disk.write_files(self.path, self._files(touched, spans))
        except BaseException:
            self._reopen()  # what is in memory went further than the disk: read it again
            raise
        self._spans.update(spans)
        self._bodies.settle()
        states = self._index.source_states()
        self._reports_on_disk = {k: s.report for k, s in states.items()}
        self._legacy = False
        self._rows_kept = True
        self._marks_apart = True
        self._unlisted.clear()
        self._seen = disk.identity(self.path)

    def _files(self, touched: set[str], spans: dict[str, dict[str, tuple[int, int]]]
               ) -> dict[Path, disk.Document | bytes]:
        """The files of a write; ``spans`` gets where each entry of the shards written is."""
        files: dict[Path, disk.Document | bytes] = {}
        for s in sorted(touched):
            files[disk.shard_path(self.path, s)], spans[s] = disk.dumps_lines(self._shard(s))
        for s in sorted(touched | self._unlisted):
            rows = {r.key: r.dump() for r in self._index.rows(source_id=s,
                                                               include_duplicates=True)}
            lines = spans.get(s, self._spans.get(s))
            files[disk.rows_path(self.path, s)] = {"rows": rows, **({"lines": {
                k: list(v) for k, v in lines.items()}} if lines is not None else {})}
        files.update(self._reports())
        files[disk.dirty_path(self.path)] = self._dirty()
        files[self.path] = self._main()
        return files

    def _reports(self) -> dict[Path, disk.Document]:
        """The files of the member reports that changed since they were written (a poll
        answered 304 changes none): the main file stays small, ~1 KB a source less."""
        states = self._index.source_states()
        out: dict[Path, disk.Document] = {}
        for source_id in sorted(set(states) | set(self._reports_on_disk)):
            state = states.get(source_id)
            report = state.report if state else ()
            if source_id not in self._reports_on_disk or \
                    self._reports_on_disk[source_id] != report:
                out[disk.report_path(self.path, source_id)] = {
                    "report": {"lines": [list(line) for line in report]}}
        return out

    def _shard(self, source_id: str) -> disk.Document:
        docs = self._bodies.shard(source_id).values()
        return _document({ENTRIES: [entry_to_dict(e) for e in sorted(docs, key=_by_key)]})

    def _main(self) -> disk.Document:
        index = self._index
        counts = index.counts() if self._entries_read else self._counts
        self._counts = counts
        states = sorted(index.source_states().values(), key=lambda s: s.source_id)
        return _document({
            META: [{"format": disk.FORMAT, "revision": self._revision, "counts": counts,
                    "oldest": iso(self._oldest_written())}],
            SOURCES: [state_to_dict(replace(s, report=())) for s in states],  # in their
            # own files (_reports)
            EVENTS: [event_to_dict(e) for e in reversed(index.events(MAX_EVENTS))],
            TOMBSTONES: [{"key": k, "published": v.isoformat()}
                         for k, v in sorted(index.tombstones().items())]})

    def _oldest_written(self) -> datetime | None:
        if not self._entries_read:
            return self._oldest_entry
        self._oldest_entry = self._index.oldest_entry()
        return self._oldest_entry

    def _reopen(self) -> None:
        self._new_index()
        self._read_main()

    def hold_lock(self) -> str | None:
        """Make sure this process still holds the store's lock; None when it does. A lock
        file removed under us (by hand, by a cleaner) is made again and taken at once, so a
        second writer is refused again; while another process holds a new one, what is
        wrong, in words (nothing is written until it is free and taken again)."""
        if self.readonly or self._lock_fd is None:
            return None
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            if os.stat(lock_path).st_ino == os.fstat(self._lock_fd).st_ino:
                return None
        except FileNotFoundError:
            pass
        try:
            self._lock()
        except StoreLocked:
            return (f"the lock file {lock_path} was removed or replaced and another process "
                    "holds the new one: nothing is stored until it lets go")
        log.warning("%s: the lock file was removed or replaced; taken again", self.path)
        return None

    def _lock_again(self) -> None:
        """Before a write: take the lock again if it was lost (hold_lock), then make sure
        the files are still the ones this process read; if another writer got in
        meanwhile, read them again (this batch is refused; the next one is written)."""
        problem = self.hold_lock()
        if problem is not None:
            raise StoreLocked(f"{self.path}: {problem}")
        if disk.identity(self.path) != self._seen:
            self._reopen()
            raise StoreError(f"{self.path}: the store file was changed by another process "
                             "since it was read; this batch is not written (read again: the "
                             "next one is)")

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None


@contextlib.contextmanager
def _corrupt_is_clear(where: Path) -> Iterator[None]:
    """A document missing what the codec needs is a corrupt store, named and untouched."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise StoreCorrupt(f"{where}: not a valid store ({type(e).__name__}: {e}); "
                           "the file was left untouched") from e


def _by_key(e: StoredEntry) -> str:
    return e.key


def _document(tables: dict[str, list[dict[str, Any]]]) -> disk.Document:
    """TinyDB's document for these tables, built through TinyDB itself (doc ids 1..n)."""
    storage = disk.OrjsonStorage({})
    db = TinyDB(storage=disk.StorageFactory(storage))
    for name, docs in tables.items():
        db.table(name).insert_multiple(docs)
    return storage.data


def _months(dirty: Dirty) -> dict[str, list[str]]:
    """The months marked; none when not known (every month: Dirty.kept reads it so)."""
    return {} if dirty.months is None else {"months": sorted(dirty.months)}
