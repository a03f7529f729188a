"""In-memory store with the indexes every backend uses for lookups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from ..models import SourceEvent, SourceState, StoredEntry

MAX_EVENTS = 500  # health events kept; older ones are dropped


def newest_first(e: StoredEntry) -> tuple[float, float, str]:
    # Ties on dates are broken by key so the order never depends on insertion.
    return (-e.published.timestamp(), -e.updated.timestamp(), e.key)


class MemoryStore:
    """Holds everything in dicts; indexes by category, source, canonical link and primary."""

    def __init__(self) -> None:
        self._entries: dict[str, StoredEntry] = {}
        self._states: dict[str, SourceState] = {}
        self._by_category: dict[str, set[str]] = defaultdict(set)
        self._by_source: dict[str, set[str]] = defaultdict(set)
        self._by_canonical: dict[str, set[str]] = defaultdict(set)
        self._copies: dict[str, set[str]] = defaultdict(set)
        self._events: list[SourceEvent] = []

    # -- reads -------------------------------------------------------------------------------

    def get(self, key: str) -> StoredEntry | None:
        return self._entries.get(key)

    def by_canonical(self, link: str) -> list[StoredEntry]:
        return [self._entries[k] for k in sorted(self._by_canonical.get(link, ()))]

    def copies_of(self, key: str) -> list[StoredEntry]:
        return [self._entries[k] for k in sorted(self._copies.get(key, ()))]

    def entries(self, category: str | None = None, source_id: str | None = None,
                include_duplicates: bool = False) -> list[StoredEntry]:
        keys: Iterable[str] = self._entries.keys()
        if category is not None:
            keys = self._by_category.get(category, set())
        if source_id is not None:
            keys = set(keys) & self._by_source.get(source_id, set())
        found = (self._entries[k] for k in keys)
        if not include_duplicates:
            found = (e for e in found if e.duplicate_of is None)
        return sorted(found, key=newest_first)

    def source_state(self, source_id: str) -> SourceState | None:
        return self._states.get(source_id)

    def source_states(self) -> dict[str, SourceState]:
        return dict(self._states)

    def count_by_source(self) -> dict[str, int]:
        return {s: len(keys) for s, keys in sorted(self._by_source.items())}

    def events(self, limit: int = 100) -> list[SourceEvent]:
        return sorted(self._events, key=lambda e: (e.at, e.source_id, e.kind),
                      reverse=True)[:limit]

    # -- writes ------------------------------------------------------------------------------

    def apply(self, entries: Sequence[StoredEntry], states: Sequence[SourceState],
              events: Sequence[SourceEvent] = ()) -> None:
        for e in entries:
            self._index(e)
        for s in states:
            self._states[s.source_id] = s
        self._events = (self._events + list(events))[-MAX_EVENTS:]

    def close(self) -> None:
        pass

    def _index(self, e: StoredEntry) -> None:
        old = self._entries.get(e.key)
        if old is not None:
            self._unindex(old)
        self._entries[e.key] = e
        for c in e.categories:
            self._by_category[c].add(e.key)
        self._by_source[e.source_id].add(e.key)
        if e.canonical_link:
            self._by_canonical[e.canonical_link].add(e.key)
        if e.duplicate_of:
            self._copies[e.duplicate_of].add(e.key)

    def _unindex(self, e: StoredEntry) -> None:
        for c in e.categories:
            self._by_category[c].discard(e.key)
        if e.canonical_link:
            self._by_canonical[e.canonical_link].discard(e.key)
        if e.duplicate_of:
            self._copies[e.duplicate_of].discard(e.key)
