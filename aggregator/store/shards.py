"""The embedded store's entries, read from their source's shard when an answer needs them.

The indexes (store/rows.py) hold every entry's row; the entries stay in their shards on disk.
An answer reads the shards of its entries and decodes only those entries. Kept for the next
answers, all bounded: the files of recently read shards (KEEP_BYTES), the last few of them
parsed (PARSED_BYTES) and recently decoded entries (KEEP): a cycle's lookups are mostly
among the sources it polls, a publish's among the newest entries. Shards changed by a
write in progress are held whole until the write is on disk (``settle``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from aggregator.errors import StoreCorrupt
from aggregator.models import StoredEntry
from aggregator.store.rows import Row

KEEP = 4096  # decoded entries kept (~12 MB of typical entries)
KEEP_BYTES = 16 * 2**20  # shard files kept, as read
PARSED_BYTES = 4 * 2**20  # shard files kept parsed too (~5x in memory): a partner's shard
# of 2 MB is asked for by one month page after another; parsing it again for each was a
# tenth of a small publish at 2,000 sources
BY_LINE = 24  # at most this many entries of one shard are read by their lines, not by
# parsing the file (a line is found in ~0.1 ms in a megabyte; parsing it takes ~10 ms)

Shard = dict[str, StoredEntry]  # key -> entry


class ShardBodies:
    """``rows.Bodies`` over shards: ``read_shard(source id)`` gives a shard's file as bytes
    (a TinyDB document: one table of entry documents), ``decode`` one entry document."""

    def __init__(self, read_shard: Callable[[str], bytes], decode: Callable[[str, Any],
                 StoredEntry], where: Callable[[str], str], keep: int = KEEP,
                 keep_bytes: int = KEEP_BYTES,
                 read_lines: Callable[[str, list[str]], dict[str, Any] | None] | None = None
                 ) -> None:
        self._read_shard = read_shard
        self._read_lines = read_lines  # (source id, keys) -> their documents, each read
        # alone where the store placed it (None: not placed; the file is read)
        self._decode = decode  # (source id, document) -> entry
        self._where = where  # a source's shard, named in errors
        self._keep, self._keep_bytes = keep, keep_bytes
        self._files: OrderedDict[str, bytes] = OrderedDict()
        self._file_bytes = 0
        self._parsed: OrderedDict[str, tuple[dict[str, Any], int]] = OrderedDict()
        self._parsed_bytes = 0
        self._keep_parsed = min(PARSED_BYTES, keep_bytes)  # never more than the files kept
        self._decoded: OrderedDict[str, StoredEntry] = OrderedDict()
        self._changing: dict[str, Shard] = {}  # changed by the write in progress
        self._dropped: set[str] = set()
        self._lock = threading.RLock()  # fetch threads read beside the writer

    def fetch(self, rows: Sequence[Row], once: bool = False) -> list[StoredEntry]:
        """``once``: a pass over the store (a whole build reads every entry, each shard
        whole once): the files and entries read are not kept (they would only push out
        what the next small publish reads, and hold ~40 MB at 2,000 sources)."""
        with self._lock:
            found: dict[str, StoredEntry] = {}
            missing: dict[str, list[str]] = {}
            for r in rows:
                changing = self._changing.get(r.source_id)
                e = changing.get(r.key) if changing is not None else self._decoded.get(r.key)
                if e is None:
                    missing.setdefault(r.source_id, []).append(r.key)
                else:
                    found[r.key] = e
            for source_id, keys in missing.items():
                found.update(self._read(source_id, keys, once))
            return [found[r.key] for r in rows]

    def shard(self, source_id: str) -> Shard:
        """Every entry of the source (a write's changes included)."""
        with self._lock:
            changing = self._changing.get(source_id)
            if changing is not None:
                return changing
            docs = self._documents(source_id)
            return {k: self._decoded.get(k) or self._decode(source_id, d)
                    for k, d in docs.items()}

    def put(self, entry: StoredEntry) -> None:
        with self._lock:
            self._change(entry.source_id)[entry.key] = entry

    def drop(self, row: Row) -> None:
        with self._lock:
            self._change(row.source_id).pop(row.key, None)
            self._dropped.add(row.key)

    def settle(self) -> None:
        """The write is on disk: its shards' entries as written are kept decoded (a
        publish reads them next), their files are read again when needed."""
        with self._lock:
            changed, self._changing = self._changing, {}
            for key in self._dropped:
                self._decoded.pop(key, None)
            self._dropped.clear()
            for source_id, shard in changed.items():  # what was just written is read next
                self._forget_file(source_id)
                self._decoded.update(shard)
            while len(self._decoded) > self._keep:
                self._decoded.popitem(last=False)

    def _read(self, source_id: str, keys: list[str], once: bool = False
              ) -> dict[str, StoredEntry]:
        docs = self._placed(source_id, keys) \
            or (self._lines(source_id, keys, once) if len(keys) <= BY_LINE else None) \
            or self._documents(source_id, once)
        out = {}
        for key in keys:
            doc = docs.get(key)
            if doc is None:
                raise StoreCorrupt(f"{self._where(source_id)}: entry {key!r} is indexed but "
                                   "not in its shard; the file was left untouched")
            out[key] = e = self._decode(source_id, doc)
            if not once:
                self._decoded[key] = e
        while len(self._decoded) > self._keep:
            self._decoded.popitem(last=False)
        return out

    def _placed(self, source_id: str, keys: list[str]) -> dict[str, Any] | None:
        """The documents of ``keys`` read where the store placed them, unless the shard's
        file is at hand already (a publish reads a few entries of each of 1,000 shards:
        reading each file whole was 110 MB at 2,000 sources)."""
        if self._read_lines is None or source_id in self._files or source_id in self._parsed:
            return None
        return self._read_lines(source_id, keys)

    def _lines(self, source_id: str, keys: list[str], once: bool = False
               ) -> dict[str, Any] | None:
        """The documents of a few entries, each read from its own line of the shard's file
        (disk.dumps writes one entry a line); None when one is not found so (a file an
        older version wrote on one line, a damaged one): then the whole file is parsed."""
        if source_id in self._parsed:
            return None
        raw = self._file(source_id, once)
        lines = []
        for key in keys:
            # a key's field as it is written (keys sorted: "language" or the end follows);
            # quotes inside a string are escaped, so no text can look like it
            at = raw.find(b'"key":' + orjson.dumps(key))
            start, end = raw.rfind(b"\n", 0, at) + 1, raw.find(b"\n", at)
            if at < 0 or start == 0 or end < 0:
                return None
            lines.append(raw[start:end])
        return line_documents(keys, lines)

    def _file(self, source_id: str, once: bool = False) -> bytes:
        """The shard's file as read (kept, or read now: kept unless ``once``)."""
        raw = self._files.get(source_id)
        if raw is None:
            raw = self._read_shard(source_id)
            if once:
                return raw
            self._files[source_id] = raw
            self._file_bytes += len(raw)
            while self._file_bytes > self._keep_bytes and len(self._files) > 1:
                _, gone = self._files.popitem(last=False)
                self._file_bytes -= len(gone)
        else:
            self._files.move_to_end(source_id)
        return raw

    def _documents(self, source_id: str, once: bool = False) -> dict[str, Any]:
        """The shard's entry documents by key, from its file (kept, or read now: kept
        unless ``once``)."""
        parsed = self._parsed.get(source_id)
        if parsed is not None:
            self._parsed.move_to_end(source_id)
            return parsed[0]
        raw = self._file(source_id, once)
        try:
            table = orjson.loads(raw).get("entries", {}) if raw.strip() else {}
            docs = {d["key"]: d for d in table.values()}
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError) as e:
            raise StoreCorrupt(f"{self._where(source_id)}: not a valid store file ({e}); "
                               "the file was left untouched") from e
        if not all(isinstance(k, str) for k in docs):
            raise StoreCorrupt(f"{self._where(source_id)}: not a valid store file (an entry "
                               "without a key); the file was left untouched")
        if once:
            return docs
        self._parsed[source_id] = (docs, len(raw))
        self._parsed_bytes += len(raw)
        while self._parsed_bytes > self._keep_parsed and len(self._parsed) > 1:
            _, (_, size) = self._parsed.popitem(last=False)
            self._parsed_bytes -= size
        return docs

    def _forget_file(self, source_id: str) -> None:
        gone = self._files.pop(source_id, None)
        if gone is not None:
            self._file_bytes -= len(gone)
        parsed = self._parsed.pop(source_id, None)
        if parsed is not None:
            self._parsed_bytes -= parsed[1]

    def _change(self, source_id: str) -> Shard:
        shard = self._changing.get(source_id)
        if shard is None:
            shard = self._changing[source_id] = dict(self.shard(source_id))
        return shard


def line_documents(keys: list[str], lines: list[bytes]) -> dict[str, Any] | None:
    """The documents of ``keys`` from their lines as ``disk.dumps`` wrote them ('"<id>":{...}',
    a trailing comma or not), key by key; None when a line is not the document of its key."""
    out = {}
    for key, line in zip(keys, lines, strict=True):
        try:
            doc = orjson.loads(line[line.index(b":") + 1:].rstrip(b","))
        except (ValueError, orjson.JSONDecodeError):
            return None
        if not isinstance(doc, dict) or doc.get("key") != key:
            return None
        out[key] = doc
    return out
