"""The Store protocol and ``open_store``.

Every backend keeps the same contract (tests/test_store_contract.py runs on each): entries
keyed by ``StoredEntry.key`` with lookups by category, source and canonical link; one
``apply`` per cycle writes a batch of entries, source states and health events at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from ..models import Dirty, SourceEvent, SourceState, StoredEntry


class Store(Protocol):
    def get(self, key: str) -> StoredEntry | None: ...

    def by_canonical(self, link: str) -> list[StoredEntry]: ...

    def by_story(self, story: str) -> list[StoredEntry]: ...

    def published_between(self, low: datetime, high: datetime) -> list[StoredEntry]:
        """Every entry (copies included) published in [low, high]."""
        ...

    def by_fingerprint(self, fingerprint: str, low: datetime, high: datetime,
                       title_bits: int | None = None) -> list[StoredEntry]:
        """Entries (copies included) carrying ``fingerprint`` and published in [low, high],
        oldest first: at most MAX_CANDIDATES of them, those published nearest the middle
        of the window; with ``title_bits``, of those only the ones whose title signature
        may be one title with it (similarity.may_share_title). Bounded: the cost does not
        grow with the store (similarity.py says what a fingerprint is)."""
        ...

    def is_tombstone(self, key: str) -> bool:
        """The entry was pruned by retention; its key stays so it is not ingested again."""
        ...

    def tombstones(self) -> dict[str, datetime]: ...

    def entries(self, category: str | None = None, source_id: str | None = None,
                include_duplicates: bool = False, limit: int | None = None
                ) -> list[StoredEntry]:
        """Newest first (published, then updated, then key: deterministic); with
        ``limit``, only the first ``limit`` of them."""
        ...

    def copies_of(self, key: str) -> list[StoredEntry]: ...

    def source_state(self, source_id: str) -> SourceState | None: ...

    def source_states(self) -> dict[str, SourceState]: ...

    def count_by_source(self) -> dict[str, int]:
        """Stored entries per source, copies included."""
        ...

    def count_by_category(self) -> dict[str, int]:
        """Per category, how many entries ``entries(category=...)`` returns (copies not
        counted): kept as entries are written, so it costs nothing to ask."""
        ...

    def count(self, category: str | None = None, source_id: str | None = None) -> int:
        """``len(entries(category, source_id))``. Bounded when at most one filter is given:
        kept as entries are written, so asking reads no entry."""
        ...

    def due(self, now: datetime, limit: int) -> list[str]:
        """Ids of the sources the store knows whose next check is at or before ``now`` (or
        not set), soonest first, at most ``limit``; gone sources are never due. Bounded: it
        reads the due part of a schedule index, not every state. Sources the store has no
        state for (never polled) are the caller's to add."""
        ...

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[str]:
        """``due(now, limit)``, and those sources' next checks moved to ``now + lease`` in the
        same write: another process asking meanwhile does not get them again; a claimer
        that dies leaves them due again when the lease ends. Storing a source's outcome
        replaces the lease with its real next check. Bounded like ``due``."""
        ...

    def copies_by_source(self) -> dict[str, int]:
        """Per source, its entries hidden as copies of another source's story."""
        ...

    def events(self, limit: int = 100) -> list[SourceEvent]:
        """Source health events, newest first."""
        ...

    @property
    def revision(self) -> int:
        """Changes whenever entries are written or removed through this object: what was
        rendered from entries at one revision is still current at the same revision."""
        ...

    def dirty(self) -> Dirty:
        """What entries changed since ``clear_dirty`` last took it (models.Dirty): kept with
        the entries, so a publish that never happened is not forgotten by a restart."""
        ...

    def clear_dirty(self, published: Dirty) -> None:
        """Publishing rendered ``published``: drop those markers (later ones stay)."""
        ...

    def apply(self, entries: Sequence[StoredEntry], states: Sequence[SourceState],
              events: Sequence[SourceEvent] = (), removed: Sequence[str] = (),
              forgotten: Sequence[str] = ()) -> None:
        """Write a batch: entries and states upserted, events appended, ``removed`` entry
        keys deleted and kept as tombstones, ``forgotten`` tombstones dropped."""
        ...

    def close(self) -> None: ...


def open_store(path: Path | None, readonly: bool = False) -> Store:
    """The TinyDB store at ``path``, or an in-memory store when ``path`` is None."""
    if path is None:
        from .memory import MemoryStore

        return MemoryStore()
    from .tinydb import TinyDBStore

    return TinyDBStore(path, readonly=readonly)


__all__ = ["Store", "open_store"]
