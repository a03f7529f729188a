"""The entries a publish renders, read from the store once each: outputs are laid out from
the store's rows (store/rows.py), and only the entries of the documents and pages being
rendered are read. A whole build reads every entry at once (one pass over the store, not
one read per page)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from aggregator.models import StoredEntry
from aggregator.store import Store
from aggregator.store.rows import Row


class Reads:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.read: dict[str, StoredEntry] = {}
        self._lock = threading.Lock()  # the search index reads beside the pages

    def everything(self) -> None:
        """Read every entry now, copies too (a whole build renders each, and names the
        sources of copies)."""
        if not self.read:
            self.read = {e.key: e for e in self.store.fetch(
                self.store.rows(include_duplicates=True))}

    def __call__(self, rows: Sequence[Row]) -> list[StoredEntry]:
        """The entries of ``rows`` as stored, in their order (one gone since: left out)."""
        missing = [r for r in rows if r.key not in self.read]
        if missing:
            found = self.store.fetch(missing)
            with self._lock:
                self.read.update((e.key, e) for e in found)
        read = self.read
        return [read[r.key] for r in rows if r.key in read]
