"""THE order of entries, one place for every listing: stores, feeds, archives, site pages.

Newest first: published, then updated, then key. Ties on dates are broken by key (ascending)
so the order never depends on insertion, and a feed and a site page list entries with equal
dates alike. By arrival: first seen, then published, then key (how feeds and rivers page).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol, TypeVar


class Listed(Protocol):
    """What ordering needs of an entry: a StoredEntry, or its row (store/rows.py)."""

    @property
    def key(self) -> str: ...

    @property
    def published(self) -> datetime: ...

    @property
    def updated(self) -> datetime: ...

    @property
    def first_seen(self) -> datetime: ...


L = TypeVar("L", bound=Listed)

# the SQL spelling of newest_first, for the PostgreSQL store
NEWEST_FIRST_SQL = "ORDER BY published DESC, updated DESC, key"


def newest_first(e: Listed) -> tuple[float, float, str]:
    """The sort key: ``sorted(entries, key=newest_first)``."""
    return (-e.published.timestamp(), -e.updated.timestamp(), e.key)


def sorted_newest_first(entries: Iterable[L]) -> tuple[L, ...]:
    return tuple(sorted(entries, key=newest_first))


def arrival(e: Listed) -> tuple[datetime, datetime, str]:
    """The sort key of the arrival order (oldest arrival first)."""
    return (e.first_seen, e.published, e.key)


class Arrived(list[L]):
    """A list in arrival order (as ``sorted(..., key=arrival)`` gives it): a publish sorts
    its listing once, then filters and cuts it into pages and months without sorting
    again (sorting 80,000 rows per river, feed and tree was a third of a small publish)."""


def in_arrival_order(entries: Iterable[L]) -> Arrived[L]:
    """``entries`` sorted by arrival, unless they are known to be already."""
    if isinstance(entries, Arrived):
        return entries
    return Arrived(sorted(entries, key=arrival))
