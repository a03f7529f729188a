"""Retention: entries older than ``retention.max_age``, or beyond ``max_per_category`` in every
category they are filed under, are pruned; their keys stay as tombstones so a feed that
still lists them cannot bring them back. Tombstones go once the age rule alone keeps their
entries out, and beyond ``max_tombstones`` (oldest first). The store stays bounded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from aggregator.config import RetentionSettings
from aggregator.models import StoredEntry


class Stored(Protocol):
    """The reads retention plans with (every Store answers them: store/__init__.py)."""

    def get(self, key: str) -> StoredEntry | None: ...

    def entries(self, category: str | None = None, source_id: str | None = None,
                include_duplicates: bool = False, limit: int | None = None
                ) -> list[StoredEntry]: ...

    def copies_of(self, key: str) -> list[StoredEntry]: ...

    def tombstones(self) -> dict[str, datetime]: ...

    def published_between(self, low: datetime, high: datetime) -> list[StoredEntry]: ...

    def count(self, category: str | None = None, source_id: str | None = None) -> int: ...


@dataclass(frozen=True)
class Pruning:
    removed: tuple[str, ...]
    forgotten: tuple[str, ...]


def cutoff(settings: RetentionSettings, now: datetime) -> datetime:
    """Entries published before this are not kept (datetime.min when there is no max age)."""
    return now - settings.max_age if settings.max_age else datetime.min.replace(tzinfo=UTC)


TAKEDOWN = datetime(9999, 1, 1, tzinfo=UTC)  # the date of a takedown's tombstones
TAKEDOWN_LINK = "takedown:"  # + a canonical link: no source brings that link back


def takedown_link(canonical: str) -> str:
    return TAKEDOWN_LINK + canonical


def is_takedown(published: datetime) -> bool:
    return published >= TAKEDOWN


def plan_pruning(store: Stored, categories: tuple[str, ...], settings: RetentionSettings,
                 now: datetime) -> Pruning:
    """What to remove and forget, reading only the entries that may go: those published
    before the cut-off, and the listings of categories holding more than their limit (the
    counts are bounded reads), so a store within its bounds is not read at all."""
    oldest = cutoff(settings, now)
    removed = {e.key for e in store.published_between(datetime.min.replace(tzinfo=UTC), oldest)
               if e.published < oldest}
    limit = settings.max_per_category
    listed = {c: store.entries(category=c) for c in categories  # each sorted once
              if store.count(category=c) > limit}
    rank = {c: {e.key: i for i, e in enumerate(entries)} for c, entries in listed.items()}
    for category in listed:
        for primary in listed[category][limit:]:
            # beyond the limit in every category it is filed under: no feed shows it any more
            if all(_beyond(c, primary.key, categories, rank, limit) for c in primary.categories):
                removed.add(primary.key)
                removed.update(e.key for e in store.copies_of(primary.key))
    stones = {**store.tombstones(), **{k: e.published for k in removed
                                       if (e := store.get(k)) is not None}}
    forgotten = {k for k, published in stones.items() if published < oldest}
    kept = sorted((k for k in stones if k not in forgotten and stones[k] < TAKEDOWN),
                  key=lambda k: (stones[k], k))  # a takedown's are never forgotten
    forgotten.update(kept[:max(0, len(kept) - settings.max_tombstones)])
    forgotten &= set(store.tombstones())  # a key being removed now becomes a tombstone first
    return Pruning(tuple(sorted(removed)), tuple(sorted(forgotten)))


def _beyond(category: str, key: str, categories: tuple[str, ...],
            rank: dict[str, dict[str, int]], limit: int) -> bool:
    """Whether the entry ``key`` is past the limit of ``category`` (a category that is no
    listing keeps nothing; one not ranked is within its limit whole)."""
    if category not in categories:
        return True
    if category not in rank:
        return False
    return rank[category].get(key, limit) >= limit
