"""The embedded store's entries, read from their source's shard when an answer needs them.

The indexes (store/rows.py) hold every entry's row; the entries stay in their shards on disk.
Reading a shard decodes all of its entries; the most recently used shards are kept, up to
KEEP entries in all, so a cycle's lookups (mostly among the sources it polls) do not read a
shard twice, and memory does not grow with the store. Shards changed by a write in progress
are held until the write is on disk (``settle``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

from aggregator.errors import StoreCorrupt
from aggregator.models import StoredEntry
from aggregator.store.rows import Row

KEEP = 4096  # entries of recently read shards kept decoded (~30 MB of typical entries)

Shard = dict[str, StoredEntry]  # key -> entry


class ShardBodies:
    """``rows.Bodies`` over shards: ``read_shard(source id)`` gives a source's entries."""

    def __init__(self, read_shard: Callable[[str], list[StoredEntry]],
                 where: Callable[[str], str], keep: int = KEEP) -> None:
        self._read_shard = read_shard
        self._where = where  # a source's shard, named in errors
        self._keep = keep
        self._kept: OrderedDict[str, Shard] = OrderedDict()
        self._kept_entries = 0
        self._changing: dict[str, Shard] = {}  # changed by the write in progress
        self._lock = threading.RLock()  # fetch threads read beside the writer

    def shard(self, source_id: str) -> Shard:
        """Every entry of the source (a write's changes included): read, or kept."""
        with self._lock:
            found = self._changing.get(source_id)
            if found is None:
                found = self._kept.get(source_id)
                if found is None:
                    found = {e.key: e for e in self._read_shard(source_id)}
                    self._remember(source_id, found)
                else:
                    self._kept.move_to_end(source_id)
            return found

    def fetch(self, rows: Sequence[Row]) -> list[StoredEntry]:
        with self._lock:
            shards = {s: self.shard(s) for s in dict.fromkeys(r.source_id for r in rows)}
            try:
                return [shards[r.source_id][r.key] for r in rows]
            except KeyError as e:
                source = next(r.source_id for r in rows if r.key not in shards[r.source_id])
                raise StoreCorrupt(f"{self._where(source)}: entry {e} is indexed but not in "
                                   "its shard; the file was left untouched") from e

    def put(self, entry: StoredEntry) -> None:
        with self._lock:
            self._change(entry.source_id)[entry.key] = entry

    def drop(self, row: Row) -> None:
        with self._lock:
            self._change(row.source_id).pop(row.key, None)

    def settle(self) -> None:
        """The write is on disk: its shards are kept like any read one."""
        with self._lock:
            changed, self._changing = self._changing, {}
            for source_id, shard in changed.items():
                self._remember(source_id, shard)

    def _change(self, source_id: str) -> Shard:
        shard = self._changing.get(source_id)
        if shard is None:
            shard = dict(self.shard(source_id))  # a copy: readers keep the stored one
            self._changing[source_id] = shard
        return shard

    def _remember(self, source_id: str, shard: Shard) -> None:
        old = self._kept.pop(source_id, None)
        self._kept_entries += len(shard) - (len(old) if old is not None else 0)
        self._kept[source_id] = shard
        while self._kept_entries > self._keep and len(self._kept) > 1:
            _, gone = self._kept.popitem(last=False)
            self._kept_entries -= len(gone)
