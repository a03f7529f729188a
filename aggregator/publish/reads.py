"""The entries a publish renders, read from the store once each: outputs are laid out from
the store's rows (store/rows.py), and only the entries of the documents and pages being
rendered are read. A whole build keeps a bounded number of them (``keep``): it walks the
outputs listing by listing and month by month, and an entry read for one is seldom asked
for again by a later one, so holding every entry read (80,000 at 2,000 sources, 260 MB)
bought little. The listing is sorted by arrival once per publish, and shared: feeds,
rivers, months and search shards are all cut from it (stories/order.py, Arrived)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import partial
from itertools import compress, islice
from operator import attrgetter, is_

from aggregator.config.taxonomy import primary_language
from aggregator.models import StoredEntry
from aggregator.store import Store
from aggregator.store.bulk import kept_in_bulk
from aggregator.store.rows import Row
from aggregator.stories.order import Arrived, in_arrival_order


class Reads:
    def __init__(self, store: Store, keep: int | None = None) -> None:
        self.store = store
        self.keep = keep  # entries kept once read, the oldest read dropped first (None: all)
        self.read: dict[str, StoredEntry] = {}
        self._lock = threading.Lock()  # the search index reads beside the pages
        self._listing: Arrived[Row] | None = None
        self._shown: Arrived[Row] | None = None
        self._groups: dict[tuple[str | None, str | None], Arrived[Row]] = {}
        self._default: str | None = None  # the language the groups were cut with

    def listing(self) -> Arrived[Row]:
        """Every stored row, copies too, in arrival order (read and sorted once)."""
        with self._lock:
            if self._listing is None:
                with kept_in_bulk():  # lists of 80,000 rows: no collection walks them again
                    self._listing = in_arrival_order(self.store.arrived())
            return self._listing

    def shown(self) -> Arrived[Row]:
        """The rows of every entry shown (copies are not: their primary is), by arrival."""
        listing = self.listing()
        with self._lock:
            if self._shown is None:
                with kept_in_bulk():  # the rows that are no copy, picked in C (80,000 rows)
                    self._shown = Arrived(compress(listing, map(
                        partial(is_, None), map(attrgetter("duplicate_of"), listing))))
            return self._shown

    def listed(self, category: str | None, language: str | None, default: str
               ) -> Arrived[Row]:
        """The shown rows of a category and a language (None: every one), by arrival; an
        entry without a language is in ``default``'s (the hub's). Every listing is cut in
        one pass, for the feeds and the trees of the site alike."""
        shown = self.shown()
        with self._lock:
            if self._default != default:
                with kept_in_bulk():
                    self._groups, self._default = _grouped(shown, default), default
            return self._groups.get((category, language), Arrived())

    def everything(self) -> None:
        """Read every entry now, copies too, in one pass over the store, when they fit in
        what is kept (a whole build of a bigger store reads them page by page)."""
        listing = self.listing()
        if not self.read and (self.keep is None or len(listing) <= self.keep):
            with kept_in_bulk():  # no collection walks them
                found = {e.key: e for e in self.store.fetch(listing)}
            with self._lock:
                self.read.update(found)

    def __call__(self, rows: Sequence[Row]) -> list[StoredEntry]:
        """The entries of ``rows`` as stored, in their order (one gone since: left out)."""
        read = self.read
        with self._lock:  # what is held now: the search index reads beside, and may drop
            # some before this answer is made (they are answered from here, not dropped)
            found = {r.key: e for r in rows if (e := read.get(r.key)) is not None}
        missing = [r for r in rows if r.key not in found]
        if missing:
            fetched = self.store.fetch(missing, once=self.keep is not None)
            found.update((e.key, e) for e in fetched)
            with self._lock:
                read.update((e.key, e) for e in fetched)
                if self.keep is not None and len(read) > self.keep:
                    for key in list(islice(read, len(read) - self.keep)):
                        del read[key]  # the earliest read (dicts keep their order)
        return [found[r.key] for r in rows if r.key in found]


def _grouped(shown: Arrived[Row], default: str) -> dict[tuple[str | None, str | None],
                                                        Arrived[Row]]:
    out: dict[tuple[str | None, str | None], Arrived[Row]] = {}
    languages: dict[str | None, str] = {}
    # the listings a row goes in, by its categories and language: a few hundred kinds
    # of row among 80,000 rows, each kind's lists found once
    targets: dict[tuple[tuple[str, ...], str], list[Arrived[Row]]] = {}
    for r in shown:
        lang = languages.get(r.language)
        if lang is None:
            lang = languages[r.language] = primary_language(r.language or default)
        kind = (r.categories, lang)
        lists = targets.get(kind)
        if lists is None:
            lists = targets[kind] = [
                out.setdefault(group, Arrived())
                for c in (None, *dict.fromkeys(r.categories)) for group in ((c, None), (c, lang))]
        for found in lists:
            found.append(r)
    return out
