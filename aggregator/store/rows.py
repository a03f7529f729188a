"""What the store's indexes know of an entry without its text: one small tuple per entry.

The embedded store keeps these for every entry and the entries themselves on disk, read by
the shard when asked for (store/shards.py): the cross-source lookups (canonical link, story,
fingerprint, listings and their order) answer from rows, and only the entries an answer
holds are read. A row is persisted beside its source's shard (``Row.dump``/``Row.read``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from operator import attrgetter
from sys import intern
from typing import Any, NamedTuple, Protocol

from aggregator.models import Dirty, StoredEntry, month_marks
from aggregator.stories.similarity import title_signature


class Row(NamedTuple):
    key: str
    source_id: str
    published: datetime
    updated: datetime
    categories: tuple[str, ...]
    language: str | None
    canonical_link: str | None
    duplicate_of: str | None
    story: str
    fingerprints: tuple[str, ...]
    title_bits: int  # similarity.title_signature(title)
    # what a listing's layout needs besides: its order by arrival, and whether a page
    # showing the entry must be rendered again
    first_seen: datetime
    content_hash: str
    via: tuple[str, ...]
    copied_by: tuple[str, ...]
    link: str | None  # a copy's: pages name the other sources of a story with it

    @classmethod
    def of(cls, e: StoredEntry) -> Row:
        return cls(e.key, e.source_id, e.published, e.updated, e.categories, e.language,
                   e.canonical_link, e.duplicate_of, e.story, e.fingerprints,
                   title_signature(e.title), e.first_seen, e.content_hash, e.via, e.copied_by,
                   e.canonical_link if e.link == e.canonical_link else e.link)

    def dump(self) -> list[Any]:
        return [self.key, self.source_id, self.published.isoformat(), self.updated.isoformat(),
                list(self.categories), self.language, self.canonical_link, self.duplicate_of,
                self.story, list(self.fingerprints), self.title_bits,
                self.first_seen.isoformat(), self.content_hash, list(self.via),
                list(self.copied_by), self.link]

    @classmethod
    def read(cls, raw: Sequence[Any]) -> Row:
        """A row as ``dump`` wrote it (ValueError: one of another layout)."""
        (key, source, published, updated, categories, language, canonical, duplicate_of,
         story, fingerprints, bits, first_seen, content_hash, via, copied_by, link) = raw
        when = datetime.fromisoformat(published)  # the three are often one: one object
        return cls(key, intern(source), when,
                   when if updated == published else datetime.fromisoformat(updated),
                   _shared(tuple(categories)), language and intern(language), canonical,
                   duplicate_of, story,
                   tuple(fingerprints), int(bits),
                   when if first_seen == published else _arrival(first_seen),
                   content_hash, tuple(via) or (), tuple(copied_by) or (),
                   canonical if link == canonical else link)


def laid_out_by_date(rows: list[Row]) -> list[Row]:
    """``rows`` sorted by (published, key), each made again in that order with its own
    published date: a publish walks the rows by date and by arrival, several times, and
    rows read source by source lay scattered in memory, so each pass over 80,000 of them
    was bound by memory latency (the listing, its cut and a tree's months: 2-4x longer).
    Copies of the tuples and dates only (17 MB at 80,000 rows), all made before the old
    ones go: made as each old one went, a copy took its place again."""
    rows.sort(key=_DATE)
    return [Row(r[0], r[1], when, when if r[3] is r[2] else r[3], r[4], r[5], r[6], r[7],
                r[8], r[9], r[10], when if r[11] is r[2] else r[11], r[12], r[13], r[14],
                r[15])
            for r in rows for when in (r[2].replace(),)]  # a new date, in this order


_DATE = attrgetter("published", "key")


@lru_cache(maxsize=4096)
def _shared(categories: tuple[str, ...]) -> tuple[str, ...]:
    """One object for every row with these categories (a few dozen sets among 80,000 rows:
    8 MB), as ``intern`` makes one of each source id and language (8 MB more)."""
    return categories


@lru_cache(maxsize=4096)
def _arrival(iso: str) -> datetime:
    """A first-seen time, one object for all the rows of the cycle that stored them (a few
    values among 80,000 rows: less memory, and grouping by arrival hashes each once)."""
    return datetime.fromisoformat(iso)


def dirty_of(rows: Iterable[Row]) -> Dirty:
    """models.Dirty.of, from rows."""
    found = list(rows)
    return Dirty(frozenset(c for r in found for c in r.categories),
                 frozenset(r.language or "" for r in found),
                 frozenset(r.source_id for r in found),
                 month_marks((r.published, r.first_seen) for r in found))


class Bodies(Protocol):
    """Where a store keeps the entries its rows stand for."""

    def fetch(self, rows: Sequence[Row], once: bool = False) -> list[StoredEntry]:
        """The entries of ``rows``, in their order (``once``: nothing kept for later)."""
        ...

    def put(self, entry: StoredEntry) -> None: ...

    def drop(self, row: Row) -> None: ...


class HeldBodies:
    """Every entry in a dict: the in-memory store's."""

    def __init__(self) -> None:
        self.held: dict[str, StoredEntry] = {}

    def fetch(self, rows: Sequence[Row], once: bool = False) -> list[StoredEntry]:
        held = self.held
        return [held[r.key] for r in rows]

    def put(self, entry: StoredEntry) -> None:
        self.held[entry.key] = entry

    def drop(self, row: Row) -> None:
        self.held.pop(row.key, None)
