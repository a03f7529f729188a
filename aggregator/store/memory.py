"""In-memory store with the indexes every backend uses for lookups."""

from __future__ import annotations

import bisect
import heapq
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any

from aggregator.models import Dirty, SourceEvent, SourceState, StoredEntry
from aggregator.store.rows import Bodies, HeldBodies, Row, dirty_of
from aggregator.stories.order import Arrived, newest_first
from aggregator.stories.similarity import Bucket, bucket_keys

_FIRST_SEEN = attrgetter("first_seen")  # a stable sort by it keeps (published, key)
_DATE = attrgetter("published", "key")  # the order of _by_date

Item = tuple[datetime, str, int]  # a bucket's: (published, key, title signature)

FEW_TO_SORT = 2048  # a listing this short is sorted without making every entry's sort key
MAX_EVENTS = 500  # health events kept; older ones are dropped


class MemoryStore:
    """Holds everything in dicts; indexes by category, source, canonical link and primary.

    The indexes hold rows (store/rows.py), the entries are ``bodies``': by default a dict
    here, for the embedded store its shards on disk, read when an answer needs them."""

    def __init__(self, bodies: Bodies | None = None) -> None:
        self._bodies: Bodies = bodies if bodies is not None else HeldBodies()
        self._rows: dict[str, Row] = {}
        self._order: dict[str, tuple[float, float, str]] | None = None  # see _sort_keys()
        self._states: dict[str, SourceState] = {}
        self._by_category: dict[str, set[str]] = defaultdict(set)
        self._by_source: dict[str, set[str]] = defaultdict(set)
        self._copies: dict[str, set[str]] = defaultdict(set)
        # every row, sorted by (published, key): the arrival order is one stable sort of it
        # away, with no lookup by key (80,000 lookups were 56 ms of a small publish)
        self._by_date: list[Row] = []
        self._found: _Lookups | None = None  # see _lookups()
        self._finding = threading.Lock()  # made once, whichever thread asks first
        self._copies_by_source: dict[str, int] = defaultdict(int)
        self._tombstones: dict[str, datetime] = {}
        self._events: list[SourceEvent] = []
        self._revision = 0
        self._shown_by_category: Counter[str] = Counter()  # entries(category) lengths
        self._shown_by_source: Counter[str] = Counter()  # entries(source_id) lengths
        self._schedule: list[tuple[datetime, str]] = []  # (next check, source id), sorted
        self._dirty = Dirty()

    # -- reads -------------------------------------------------------------------------------

    def _read(self, keys: Iterable[str], once: bool = False) -> list[StoredEntry]:
        rows = self._rows
        return self._bodies.fetch([rows[k] for k in keys], once)

    def _sort_keys(self) -> dict[str, tuple[float, float, str]]:
        """Each entry's newest_first key, made when a listing longer than FEW_TO_SORT is
        first sorted (a whole build sorts none: 14 MB at 80,000 entries; a poll, a source's
        few), then kept as entries are written."""
        with self._finding:
            if self._order is None:
                self._order = {k: newest_first(r) for k, r in self._rows.items()}
            return self._order

    def row(self, key: str) -> Row | None:
        return self._rows.get(key)

    def get(self, key: str) -> StoredEntry | None:
        return self._read([key])[0] if key in self._rows else None

    def _lookups(self) -> _Lookups:
        """The cross-source lookups' indexes (canonical link, story, fingerprint), made when
        first asked for: a process that only publishes (``build``, ``serve``) never asks,
        and they were a third of an opened store's indexes (80,000 entries: ~60 MB)."""
        with self._finding:
            if self._found is None:
                found = _Lookups()
                for row in self._rows.values():
                    found.add(row, keep_sorted=False)
                found.sort()
                self._found = found
            return self._found

    def by_canonical(self, link: str) -> list[StoredEntry]:
        return self._read(self._lookups().by_canonical.sorted(link))

    def by_story(self, story: str) -> list[StoredEntry]:
        return self._read(self._lookups().by_story.sorted(story))

    def published_between(self, low: datetime, high: datetime) -> list[StoredEntry]:
        start = bisect.bisect_left(self._by_date, (low, ""), key=_DATE)
        end = bisect.bisect_right(self._by_date, (high, "\uffff"), key=_DATE)
        return self._read(r.key for r in self._by_date[start:end])

    def by_fingerprint(self, fingerprint: str, low: datetime, high: datetime,
                       title_bits: int | None = None) -> list[StoredEntry]:
        return self._read(bucket_keys(self._lookups().bucket(fingerprint), low, high,
                                      title_bits))

    def is_tombstone(self, key: str) -> bool:
        return key in self._tombstones

    def tombstones(self) -> dict[str, datetime]:
        return dict(self._tombstones)

    def copies_of(self, key: str) -> list[StoredEntry]:
        return self._read(sorted(self._copies.get(key, ())))

    def entries(self, category: str | None = None, source_id: str | None = None,
                include_duplicates: bool = False, limit: int | None = None
                ) -> list[StoredEntry]:
        return self._read(self.keys(category, source_id, include_duplicates, limit))

    def rows(self, category: str | None = None, source_id: str | None = None,
             include_duplicates: bool = False) -> list[Row]:
        rows = self._rows
        return [rows[k] for k in self.keys(category, source_id, include_duplicates)]

    def arrived(self) -> list[Row]:
        """From the date index, already sorted (published, key): one stable sort by first
        seen, whose values are few (one per cycle that stored something), gives the arrival
        order (sorting 80,000 rows by the whole key took 0.10-0.19 s of a small publish;
        this 0.05 s)."""
        listed = list(self._by_date)
        listed.sort(key=_FIRST_SEEN)  # in C (a Python loop over 80,000 pairs was 48 ms)
        return Arrived(listed)

    def fetch(self, rows: Sequence[Row], once: bool = False) -> list[StoredEntry]:
        return self._read((r.key for r in rows if r.key in self._rows), once)

    def keys(self, category: str | None = None, source_id: str | None = None,
             include_duplicates: bool = False, limit: int | None = None) -> list[str]:
        """The keys of ``entries(...)``, in its order, reading no entry."""
        keys: Collection[str] = self._rows.keys()
        if source_id is not None:  # the smaller set first: a source's own, not every key
            keys = self._by_source.get(source_id, set())
            if category is not None:
                keys = keys & self._by_category.get(category, set())
        elif category is not None:
            keys = self._by_category.get(category, set())
        rows = self._rows
        if not include_duplicates:
            keys = [k for k in keys if rows[k].duplicate_of is None]
        order: Callable[[str], tuple[float, float, str]]
        if self._order is None and len(keys) <= FEW_TO_SORT:  # a source's: made for these
            order = lambda k: newest_first(rows[k])  # noqa: E731
        else:
            order = self._sort_keys().__getitem__  # made once for every entry
        if limit is not None:  # the newest few: a partial sort
            return heapq.nsmallest(limit, keys, key=order)
        return sorted(keys, key=order)

    def source_state(self, source_id: str) -> SourceState | None:
        return self._states.get(source_id)

    def source_states(self) -> dict[str, SourceState]:
        return dict(self._states)

    def count_by_category(self) -> dict[str, int]:
        return {c: n for c, n in sorted(self._shown_by_category.items()) if n}

    def count(self, category: str | None = None, source_id: str | None = None) -> int:
        if category is not None and source_id is not None:
            return len(self.keys(category=category, source_id=source_id))
        if category is not None:
            return self._shown_by_category.get(category, 0)
        if source_id is not None:
            return self._shown_by_source.get(source_id, 0)
        return sum(self._shown_by_source.values())

    def counts(self) -> dict[str, dict[str, int]]:
        """Every count a reader may ask for without the entries (persisted by TinyDB)."""
        return {"category": self.count_by_category(), "source": self.count_by_source(),
                "shown_source": {s: n for s, n in sorted(self._shown_by_source.items()) if n},
                "copies": self.copies_by_source()}

    def oldest(self) -> datetime | None:
        dates = [d for d in (self.oldest_entry(), min(self._tombstones.values(), default=None))
                 if d is not None]
        return min(dates, default=None)

    def oldest_entry(self) -> datetime | None:
        return self._by_date[0].published if self._by_date else None

    def due(self, now: datetime, limit: int) -> list[str]:
        end = bisect.bisect_right(self._schedule, (now, "\uffff"))
        return [sid for _, sid in self._schedule[:min(end, limit)]]

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[str]:
        ids = self.due(now, limit)
        self.apply([], [replace(self._states[i], next_check_at=now + lease) for i in ids])
        return ids

    def count_by_source(self) -> dict[str, int]:
        return {s: len(keys) for s, keys in sorted(self._by_source.items())}

    def copies_by_source(self) -> dict[str, int]:
        return {s: n for s, n in sorted(self._copies_by_source.items()) if n}

    def events(self, limit: int = 100) -> list[SourceEvent]:
        return sorted(self._events, key=lambda e: (e.at, e.source_id, e.kind),
                      reverse=True)[:limit]

    @property
    def revision(self) -> int:
        return self._revision

    def dirty(self) -> Dirty:
        return self._dirty

    def clear_dirty(self, published: Dirty) -> None:
        self._dirty = self._dirty - published

    # -- writes ------------------------------------------------------------------------------

    def apply(self, entries: Sequence[StoredEntry], states: Sequence[SourceState],
              events: Sequence[SourceEvent] = (), removed: Sequence[str] = (),
              forgotten: Sequence[str] = (), tombstones: Mapping[str, datetime] | None = None
              ) -> None:
        if entries or removed:
            self._revision += 1
            before = (self._rows.get(k) for k in [*(e.key for e in entries), *removed])
            self._dirty = self._dirty | Dirty.of(entries) | dirty_of(r for r in before if r)
        for e in entries:
            self._bodies.put(e)
            self._index(Row.of(e))
        for key in removed:
            gone = self._rows.pop(key, None)
            if gone is not None:
                self._bodies.drop(gone)
                if self._order is not None:
                    del self._order[key]
                self._unindex(gone)
                self._by_source[gone.source_id].discard(key)
                self._tombstones[key] = gone.published
        for key in forgotten:
            self._tombstones.pop(key, None)
        self._tombstones.update(tombstones or {})
        for s in states:
            self._schedule_state(s)
            self._states[s.source_id] = s
        self._events = (self._events + list(events))[-MAX_EVENTS:]

    def load(self, entries: Iterable[StoredEntry] = (), states: Iterable[SourceState] = (),
             events: Iterable[SourceEvent] = (), tombstones: dict[str, datetime] | None = None,
             dirty: Dirty | None = None, rows: Iterable[Row] = ()) -> None:
        """Index what a backend read from disk (not a change: the revision stays): entries,
        or the ``rows`` of entries the bodies already hold."""
        bulk = not self._rows  # a first load: the sorted indexes are sorted once, at the end
        for e in entries:
            self._bodies.put(e)
            self._index(Row.of(e), keep_sorted=not bulk)
        for r in rows:  # (inserting 80,000 entries one by one moved 25 GB of pointers)
            self._index(r, keep_sorted=not bulk)
        if bulk:
            self._by_date.sort(key=_DATE)
            if self._found is not None:
                self._found.sort()
        for s in states:
            self._schedule_state(s)
            self._states[s.source_id] = s
        self._events = (self._events + list(events))[-MAX_EVENTS:]
        self._tombstones.update(tombstones or {})
        self._dirty = self._dirty | (dirty or Dirty())

    def close(self) -> None:
        pass

    def _schedule_state(self, state: SourceState) -> None:
        old = self._states.get(state.source_id)
        if old is not None and not old.gone:
            _remove_sorted(self._schedule, _slot(old))
        if not state.gone:
            bisect.insort(self._schedule, _slot(state))

    def _index(self, e: Row, keep_sorted: bool = True) -> None:
        old = self._rows.get(e.key)
        if old is not None:
            if not keep_sorted:
                self._by_date.sort(key=_DATE)  # _unindex finds the old one by bisection
                if self._found is not None:
                    self._found.sort()
            self._unindex(old)
        self._rows[e.key] = e
        if self._order is not None:
            self._order[e.key] = newest_first(e)
        for c in e.categories:
            self._by_category[c].add(e.key)
            self._shown_by_category[c] += e.duplicate_of is None
        self._shown_by_source[e.source_id] += e.duplicate_of is None
        self._by_source[e.source_id].add(e.key)
        if e.duplicate_of:
            self._copies[e.duplicate_of].add(e.key)
            self._copies_by_source[e.source_id] += 1
        if keep_sorted:
            bisect.insort(self._by_date, e, key=_DATE)
        else:
            self._by_date.append(e)
        if self._found is not None:
            self._found.add(e, keep_sorted)

    def _unindex(self, e: Row) -> None:
        for c in e.categories:
            self._by_category[c].discard(e.key)
            self._shown_by_category[c] -= e.duplicate_of is None
        self._shown_by_source[e.source_id] -= e.duplicate_of is None
        if e.duplicate_of:
            self._copies[e.duplicate_of].discard(e.key)
            self._copies_by_source[e.source_id] -= 1
        i = bisect.bisect_left(self._by_date, (e.published, e.key), key=_DATE)
        if i < len(self._by_date) and self._by_date[i].key == e.key:
            del self._by_date[i]
        if self._found is not None:
            self._found.discard(e)


class _Lookups:
    """Where the cross-source lookups find entries: by canonical link, by story, by title
    fingerprint (a bucket of (published, key, title signature) items, sorted)."""

    def __init__(self) -> None:
        self.by_canonical = _Keys()
        self.by_story = _Keys()
        # fingerprint -> its bucket; most fingerprints are one entry's: its item alone
        self.by_print: dict[str, Bucket | Item] = {}

    def add(self, e: Row, keep_sorted: bool) -> None:
        if e.canonical_link:
            self.by_canonical.add(e.canonical_link, e.key)
        self.by_story.add(e.story or e.key, e.key)
        item = (e.published, e.key, e.title_bits)  # one tuple in all of its buckets
        for fp in e.fingerprints:
            self._file(fp, item, keep_sorted)

    def discard(self, e: Row) -> None:
        if e.canonical_link:
            self.by_canonical.discard(e.canonical_link, e.key)
        self.by_story.discard(e.story or e.key, e.key)
        for fp in e.fingerprints:
            bucket = self.bucket(fp)
            _remove_sorted(bucket, (e.published, e.key, e.title_bits))
            if len(bucket) > 1:
                self.by_print[fp] = bucket
            elif bucket:
                self.by_print[fp] = bucket[0]
            else:
                self.by_print.pop(fp, None)

    def sort(self) -> None:
        """After adding unsorted (a bulk load)."""
        for bucket in self.by_print.values():
            if isinstance(bucket, list):
                bucket.sort()

    def bucket(self, fingerprint: str) -> Bucket:
        found = self.by_print.get(fingerprint)
        if found is None:
            return []
        return found if isinstance(found, list) else [found]

    def _file(self, fingerprint: str, item: Item, keep_sorted: bool) -> None:
        found = self.by_print.get(fingerprint)
        if found is None:
            self.by_print[fingerprint] = item
        elif isinstance(found, tuple):
            self.by_print[fingerprint] = sorted([found, item]) if keep_sorted else [found, item]
        elif keep_sorted:
            bisect.insort(found, item)
        else:
            found.append(item)


class _Keys:
    """Keys by a value (a canonical link, a story): most values have one key, kept as the
    key itself; a set only when there are more (a set costs ~220 bytes, per entry)."""

    def __init__(self) -> None:
        self._of: dict[str, str | set[str]] = {}

    def sorted(self, value: str) -> list[str]:
        found = self._of.get(value)
        if found is None:
            return []
        return [found] if isinstance(found, str) else sorted(found)

    def add(self, value: str, key: str) -> None:
        found = self._of.get(value)
        if found is None:
            self._of[value] = key
        elif isinstance(found, str):
            if found != key:
                self._of[value] = {found, key}
        else:
            found.add(key)

    def discard(self, value: str, key: str) -> None:
        found = self._of.get(value)
        if found == key:
            del self._of[value]
        elif isinstance(found, set):
            found.discard(key)
            if len(found) == 1:
                self._of[value] = found.pop()


def _remove_sorted(items: list[Any], item: tuple[Any, ...]) -> None:
    i = bisect.bisect_left(items, item)
    if i < len(items) and items[i] == item:
        del items[i]


NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # a source with no next check is due first


def _slot(state: SourceState) -> tuple[datetime, str]:
    return state.next_check_at or NEVER, state.source_id
