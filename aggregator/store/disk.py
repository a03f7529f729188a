"""The TinyDB store on disk: a small main file, one shard per source, a journal.

    store.json               sources (states), events, tombstones, counts, meta
    store.json.shards/a.json entries of source ``a`` (one TinyDB table), one file per source
    store.json.rows/a.json   the rows of source ``a``'s entries (store/rows.py), for the indexes,
                             and where each entry's line is in the shard (read alone)
    store.json.reports/a.json how the hub last read source ``a``'s feed (its member report),
                             written when it changes (a poll answered 304 leaves it alone)
    store.json.dirty         what changed since the last publish (publishing clears it alone)
    store.json.journal       only while a write touching several files is under way

Every file is a TinyDB document read and written through ``OrjsonStorage`` (orjson, sorted
keys). A write that touches one file replaces it atomically; a write touching several first
writes the journal (all the new files in one document, atomically), then replaces each file,
then removes the journal. A crash at any point leaves either the old files and no journal,
or a journal that ``recover`` replays on the next open: a batch is all or nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import orjson
from tinydb.storages import Storage

from aggregator.errors import StoreCorrupt, StoreError
from aggregator.files import atomic_write

Document = dict[str, Any]  # a TinyDB file: {table: {doc id: doc}}
FORMAT = 5  # 1: everything in one file (still read, rewritten as shards on the first write);
# 2: no rows files (they are made from the shards, then written at the first write);
# 3: member reports in the main file (read there, written to their files at the first write);
# 4: the dirty marks in the main file (read there, then kept in their own file)


class OrjsonStorage(Storage):
    """TinyDB storage holding one document in memory; ``dumps``/``loads`` put it on disk."""

    def __init__(self, data: Document, readonly: bool = False, where: Path | None = None
                 ) -> None:
        self.data = data
        self.readonly = readonly
        self.where = where

    def read(self) -> Document:
        return self.data

    def write(self, data: Document) -> None:
        if self.readonly:
            raise StoreError(f"{self.where}: store opened read-only")
        self.data = data


class StorageFactory:
    """TinyDB instantiates its storage itself; hand it the one already built."""

    def __init__(self, storage: OrjsonStorage) -> None:
        self.storage = storage

    def __call__(self) -> OrjsonStorage:
        return self.storage


def dumps(doc: Document) -> bytes:
    """A TinyDB file, each table's documents one to a line: the same JSON as orjson's own
    (keys sorted), and one entry of a shard can be found by its line and read alone,
    without parsing the shard (shards.py: a partner's shard holds a megabyte)."""
    return _dumps(doc, None)


def dumps_lines(doc: Document) -> tuple[bytes, dict[str, tuple[int, int]]]:
    """``dumps(doc)``, and where each document's line is in it: its "key" field -> (start,
    end) in bytes (a shard's entries: the rows file keeps them, so one entry is read
    alone, shards.py)."""
    spans: dict[str, tuple[int, int]] = {}
    return _dumps(doc, spans), spans


def _dumps(doc: Document, spans: dict[str, tuple[int, int]] | None) -> bytes:
    if not all(isinstance(t, dict) and all(isinstance(k, str) for k in t)
               for t in doc.values()):
        return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    out = bytearray(b"{")
    for i, name in enumerate(sorted(doc)):
        out += (b"," if i else b"") + orjson.dumps(name) + b":{\n"
        for j, (k, v) in enumerate(sorted(doc[name].items())):
            if j:
                out += b",\n"
            start = len(out)
            out += orjson.dumps(k) + b":" + orjson.dumps(v, option=orjson.OPT_SORT_KEYS)
            if spans is not None and isinstance(v, dict) and isinstance(v.get("key"), str):
                spans[v["key"]] = (start, len(out))
        out += b"\n}"
    out += b"}"
    return bytes(out)


def read_lines(path: Path, spans: list[tuple[int, int]]) -> list[bytes] | None:
    """The bytes of ``spans`` (start, end) of a store file; None when it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return [os.pread(fd, end - start, start) for start, end in spans]
    except OSError:
        return None
    finally:
        os.close(fd)


def shard_dir(path: Path) -> Path:
    return path.with_name(path.name + ".shards")


def rows_dir(path: Path) -> Path:
    return path.with_name(path.name + ".rows")


def rows_path(path: Path, source_id: str) -> Path:
    return _per_source(rows_dir(path), source_id)


def dirty_path(path: Path) -> Path:
    return path.with_name(path.name + ".dirty")


def reports_dir(path: Path) -> Path:
    return path.with_name(path.name + ".reports")


def report_path(path: Path, source_id: str) -> Path:
    return _per_source(reports_dir(path), source_id)


def shard_source(shard: Path) -> str:
    return unquote(shard.name.removesuffix(".json"))


def shard_sources(path: Path) -> list[str]:
    """The ids of the sources that have a shard."""
    folder = shard_dir(path)
    if not folder.is_dir():
        return []
    return sorted(shard_source(p) for p in folder.glob("*.json"))


def journal_path(path: Path) -> Path:
    return path.with_name(path.name + ".journal")


def shard_path(path: Path, source_id: str) -> Path:
    return _per_source(shard_dir(path), source_id)


def _per_source(folder: Path, source_id: str) -> Path:
    # source ids are [a-z0-9-] by config; quoting keeps any older id a plain file name
    return folder / (quote(source_id, safe="") + ".json")


def read_bytes(path: Path) -> bytes:
    """A store file as it is on disk; b"" when there is none."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""
    except OSError as e:
        raise StoreError(f"{path}: cannot read store: {e}") from e


def read_doc(path: Path) -> Document:
    """A TinyDB file's document; {} when there is none. Corrupt -> StoreCorrupt, untouched."""
    raw = read_bytes(path)
    if not raw.strip():
        return {}
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise StoreCorrupt(f"{path}: not a valid store file ({e}); the file was left "
                           "untouched: move it aside or restore a backup") from e
    if not isinstance(doc, dict) or not all(isinstance(t, dict) for t in doc.values()):
        raise StoreCorrupt(f"{path}: not a valid store file (expected tables of documents); "
                           "the file was left untouched")
    return doc


def write_files(path: Path, files: Mapping[Path, Document | bytes]) -> None:
    """Write a batch of files (``path`` is the main file) all or nothing, see above. A file
    given as bytes is ``dumps`` of its document already."""
    try:
        raw = {p: d if isinstance(d, bytes) else dumps(d) for p, d in files.items()}
        if len(raw) == 1:
            [(target, data)] = raw.items()
            atomic_write(target, data)
            return
        journal = journal_path(path)  # one document: each file's, by its relative name
        atomic_write(journal, b"{" + b",\n".join(
            orjson.dumps(str(p.relative_to(path.parent))) + b":" + raw[p]
            for p in sorted(raw, key=lambda p: str(p.relative_to(path.parent)))) + b"}")
        _replay(path, raw)
        journal.unlink()
    except OSError as e:
        raise StoreError(f"{path}: cannot write store: {e}") from e


def pending(path: Path) -> dict[Path, Document]:
    """The files of a journal left by a write that did not finish (empty: none)."""
    doc = read_doc(journal_path(path))
    return {path.parent / name: d for name, d in doc.items()}


def recover(path: Path) -> None:
    """Finish a batch a crash interrupted (the caller holds the write lock)."""
    files = pending(path)
    if files:
        try:
            _replay(path, files)
            journal_path(path).unlink()
        except OSError as e:
            raise StoreError(f"{path}: cannot finish the interrupted write: {e}") from e


def _replay(path: Path, files: Mapping[Path, Document | bytes]) -> None:
    # the main file last: it is what tells readers the batch is there
    for target in sorted(files, key=lambda p: p == path):
        data = files[target]
        atomic_write(target, data if isinstance(data, bytes) else dumps(data))


def identity(path: Path) -> tuple[int, int, int] | None:
    """What tells one version of the main file from another (None: no file yet)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def remove_stale_temporaries(path: Path) -> None:
    """Temp files of writes that crashed (files.atomic_write names them .<name>.<pid>.tmp);
    the caller holds the lock, so no live writer owns any of them."""
    for folder, prefix in ((path.parent, f".{path.name}."), (shard_dir(path), "."),
                           (rows_dir(path), "."), (reports_dir(path), ".")):
        if folder.is_dir():
            for tmp in folder.glob(f"{prefix}*.tmp"):
                tmp.unlink(missing_ok=True)
