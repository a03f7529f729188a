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
    oldest = cutoff(settings, now)
    removed = {e.key for e in store.entries(include_duplicates=True) if e.published < oldest}
    listed = {c: store.entries(category=c) for c in categories}  # each sorted once
    rank = {c: {e.key: i for i, e in enumerate(entries)} for c, entries in listed.items()}
    limit = settings.max_per_category
    for category in categories:
        for primary in listed[category][limit:]:
            # beyond the limit in every category it is filed under: no feed shows it any more
            if all(rank.get(c, {}).get(primary.key, limit) >= limit for c in primary.categories):
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
