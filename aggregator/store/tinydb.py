"""The embedded default store: a TinyDB JSON file, written safely.

TinyDB's own JSONStorage rewrites the file in place on every operation, so a crash mid-write
corrupts it, and it has no protection against a second process. Here:

- one writer: an exclusive ``flock`` on ``<store>.lock`` held for the store's lifetime;
- one write per cycle: TinyDB writes into an in-memory storage, ``apply`` flushes once;
- atomic: temp file in the same directory + fsync + ``os.replace`` + fsync of the directory;
- lookups go through the in-memory indexes of MemoryStore, not TinyDB queries.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Document, Table

from ..exceptions import StoreCorrupt, StoreError, StoreLocked
from ..files import atomic_write
from ..models import SourceEvent, SourceState, StoredEntry
from .codec import (
    entry_from_dict,
    entry_to_dict,
    event_from_dict,
    event_to_dict,
    state_from_dict,
    state_to_dict,
)
from .memory import MAX_EVENTS, MemoryStore

ENTRIES, SOURCES, EVENTS, TOMBSTONES = "entries", "sources", "events", "tombstones"


class BufferedStorage(Storage):
    """TinyDB storage that keeps the document in memory until ``flush``."""

    def __init__(self, path: Path, initial: dict[str, Any], readonly: bool) -> None:
        self.path = path
        self.data = initial
        self.readonly = readonly

    def read(self) -> dict[str, Any]:
        return self.data

    def write(self, data: dict[str, Any]) -> None:
        if self.readonly:
            raise StoreError(f"{self.path}: store opened read-only")
        self.data = data

    def flush(self) -> None:
        data = json.dumps(self.data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        try:
            atomic_write(self.path, data.encode("utf-8"))
        except OSError as e:
            raise StoreError(f"{self.path}: cannot write store: {e}") from e


class TinyDBStore(MemoryStore):
    """MemoryStore indexes, persisted to a TinyDB file."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        super().__init__()
        self.path = path
        self.readonly = readonly
        self._lock_fd: int | None = None
        if not readonly:
            self._lock()
            _remove_stale_temporaries(path)
        try:
            self._storage = BufferedStorage(path, _load(path), readonly)
            self._seen = _identity(path)
            self._db = TinyDB(storage=_StorageFactory(self._storage))
            self._ids: dict[str, dict[str, int]] = {ENTRIES: {}, SOURCES: {}, TOMBSTONES: {}}
            self._read_all()
        except BaseException:
            self.close()
            raise

    def _lock(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            os.close(fd)
            raise StoreLocked(f"{self.path}: the store is open for writing by another "
                              f"aggregator process (lock file {lock_path})") from e
        self._lock_fd = fd

    def _read_all(self) -> None:
        try:
            for doc in self._db.table(ENTRIES).all():
                self._ids[ENTRIES][doc["key"]] = doc.doc_id
                self._index(entry_from_dict(doc))
            for doc in self._db.table(SOURCES).all():
                self._ids[SOURCES][doc["source_id"]] = doc.doc_id
                state = state_from_dict(doc)
                self._schedule_state(state)
                self._states[state.source_id] = state
            self._events = [event_from_dict(doc) for doc in self._db.table(EVENTS).all()]
            for doc in self._db.table(TOMBSTONES).all():
                self._ids[TOMBSTONES][doc["key"]] = doc.doc_id
                self._tombstones[doc["key"]] = datetime.fromisoformat(doc["published"])
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise StoreCorrupt(f"{self.path}: not a valid store ({type(e).__name__}: {e}); "
                               "the file was left untouched") from e

    def apply(self, entries: Sequence[StoredEntry], states: Sequence[SourceState],
              events: Sequence[SourceEvent] = (), removed: Sequence[str] = (),
              forgotten: Sequence[str] = ()) -> None:
        if self.readonly:
            raise StoreError(f"{self.path}: store opened read-only")
        if not (entries or states or events or removed or forgotten):
            return
        _replace_docs(self._db.table(ENTRIES), self._ids[ENTRIES], "key",
                      [entry_to_dict(e) for e in entries])
        _replace_docs(self._db.table(SOURCES), self._ids[SOURCES], "source_id",
                      [state_to_dict(s) for s in states])
        self._append_events(events)
        self._prune(removed, forgotten)
        self._check_still_ours()
        self._storage.flush()
        self._seen = _identity(self.path)
        super().apply(entries, states, events, removed, forgotten)

    def _check_still_ours(self) -> None:
        """Refuse to write when the lock file was removed (another writer may hold a new
        one) or the store file changed since this process read or wrote it."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        assert self._lock_fd is not None
        try:
            same_lock = os.stat(lock_path).st_ino == os.fstat(self._lock_fd).st_ino
        except FileNotFoundError:
            same_lock = False
        if not same_lock:
            raise StoreLocked(f"{self.path}: the lock file {lock_path} was removed or replaced "
                              "while this process held it; nothing written (restart it)")
        if _identity(self.path) != self._seen:
            raise StoreError(f"{self.path}: the store file was changed by another process "
                             "since it was read; nothing written (restart to read it again)")

    def _prune(self, removed: Sequence[str], forgotten: Sequence[str]) -> None:
        gone = [self._entries[k] for k in removed if k in self._entries]
        _drop_docs(self._db.table(ENTRIES), self._ids[ENTRIES], [e.key for e in gone])
        _replace_docs(self._db.table(TOMBSTONES), self._ids[TOMBSTONES], "key",
                      [{"key": e.key, "published": e.published.isoformat()} for e in gone])
        _drop_docs(self._db.table(TOMBSTONES), self._ids[TOMBSTONES], list(forgotten))

    def _append_events(self, events: Sequence[SourceEvent]) -> None:
        if not events:
            return
        table = self._db.table(EVENTS)
        table.insert_multiple(event_to_dict(e) for e in events)
        ids = sorted(doc.doc_id for doc in table.all())
        if len(ids) > MAX_EVENTS:
            table.remove(doc_ids=ids[:-MAX_EVENTS])

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None


class _StorageFactory:
    """TinyDB instantiates its storage itself; hand it the one we already built."""

    def __init__(self, storage: BufferedStorage) -> None:
        self.storage = storage

    def __call__(self) -> BufferedStorage:
        return self.storage


def _replace_docs(table: Table, ids: dict[str, int], key: str, docs: list[dict[str, Any]]
                  ) -> None:
    """Upsert a batch in two table passes (TinyDB's per-document upsert scans the table)."""
    if not docs:
        return
    stale = [ids[d[key]] for d in docs if d[key] in ids]
    if stale:
        table.remove(doc_ids=stale)
    next_id = max(ids.values(), default=0) + 1
    batch = []
    for d in docs:
        if d[key] not in ids:
            ids[d[key]] = next_id
            next_id += 1
        batch.append(Document(d, doc_id=ids[d[key]]))
    table.insert_multiple(batch)


def _drop_docs(table: Table, ids: dict[str, int], keys: list[str]) -> None:
    doc_ids = [ids.pop(k) for k in keys if k in ids]
    if doc_ids:
        table.remove(doc_ids=doc_ids)


def _identity(path: Path) -> tuple[int, int, int] | None:
    """What tells one version of the store file from another (None: no file yet)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _remove_stale_temporaries(path: Path) -> None:
    """Temp files of writes that crashed (files.atomic_write names them .<name>.<pid>.tmp);
    the caller holds the lock, so no live writer owns any of them."""
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        tmp.unlink(missing_ok=True)


def _load(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise StoreError(f"{path}: cannot read store: {e}") from e
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise StoreCorrupt(f"{path}: not a valid store file ({e}); the file was left "
                           "untouched: move it aside or restore a backup") from e
    if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
        raise StoreCorrupt(f"{path}: not a valid store file (expected tables of documents); "
                           "the file was left untouched")
    return data
