"""The Store protocol and ``open_store``: the contract every backend keeps.

tests/test_store.py and tests/test_dirty.py run the same contract tests on each backend
(MemoryStore, the reference; TinyDBStore, the embedded default), pinning nothing of one.

Data. Entries are keyed by ``StoredEntry.key`` (``<source id>:<digest>``); source states by
source id; events are appended, the newest MAX_EVENTS kept; a removed entry leaves a
tombstone (its key and date) until ``forgotten``.

Time. Every datetime going in or coming out is timezone-aware UTC; the store never reads a
clock: "now" is always the caller's argument.

Order. Lists are deterministic: entries newest first (published, then updated, then key);
lookups by canonical link, story and copies in key order; ``by_fingerprint`` oldest first;
``due`` soonest first, then source id; events newest first.

Cost. Bounded (independent of how many entries are stored): ``get``, ``is_tombstone``,
``source_state``, ``due``/``claim_due`` (the due part of a schedule index), ``count`` with at
most one filter, the ``count_by_*`` maps (kept as entries are written), ``by_fingerprint``
(at most MAX_CANDIDATES), ``dirty``, ``revision``. Proportional to the answer:
``by_canonical``, ``by_story``, ``copies_of``, ``published_between``, ``fetch``, ``entries``
and ``rows`` (plus a sort; ``limit`` makes it partial). ``source_states`` and ``tombstones``
grow with sources. A backend may read entries lazily (TinyDB does): only the entry reads
pay for it.

Atomicity. ``apply`` (and ``claim_due``, ``clear_dirty``) is one write: all of it is stored
or none, also across a crash or kill -9; a failed write raises StoreError and leaves what
is stored as it was. One outcome of one source is stored by one ``apply``
(run/outcomes.py: apply_outcomes), so it is atomic on its own.

Concurrency. One writer per store, readers beside it: TinyDB takes an exclusive lock for a
writer (StoreLocked for a second one) and refuses to write over a file another process
changed. Story resolution (stories.plan reading the store, then ``apply``) runs under that one
writer, so two sources posting one story at the same moment are resolved one after the
other; a multi-writer backend must give the same guarantee (a unique story key or a lock
around plan + apply).

Claiming. A store several machines share (PostgreSQL) is a ClaimingStore too: it hands
out due sources under a claim token (``claim``), tells whether a claim still holds
(``holds``), stores an outcome only while its claim holds (``apply`` with ``fence``: else
ClaimLost), serializes story resolution across processes (``exclusive``), and answers a
plan's lookups in a few queries (``lookups_for``). Code that needs these asks for a
ClaimingStore; code that can use them checks ``isinstance(store, ClaimingStore)``.

Errors. Opening: StoreCorrupt (the file is named and left untouched), StoreLocked,
StoreError (unreadable). Writing: StoreError (read-only store, disk full, the file changed
under us), StoreLocked (the lock file was removed). Reads of a corrupt shard raise
StoreCorrupt naming it. Unknown keys or ids are not errors: ``None``, empty, or 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from aggregator.models import Dirty, SourceEvent, SourceState, StoredEntry
from aggregator.store.rows import Row

if TYPE_CHECKING:
    from aggregator.stories.plan import Candidate, Lookups


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

    def rows(self, category: str | None = None, source_id: str | None = None,
             include_duplicates: bool = False) -> list[Row]:
        """The rows (store/rows.py) of ``entries(...)``, in its order: what laying out a
        listing needs, without reading the entries themselves."""
        ...

    def arrived(self) -> list[Row]:
        """Every row, copies too, in arrival order (stories/order.py: first seen, then
        published, then key): what a publish cuts its listings from."""
        ...

    def fetch(self, rows: Sequence[Row], once: bool = False) -> list[StoredEntry]:
        """The entries ``rows`` stand for, as stored now, in the rows' order; a row whose
        entry is gone is left out. Proportional to the answer. ``once``: read for one pass
        over the store (a whole build), so what was read is not kept for later answers."""
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

    def oldest(self) -> datetime | None:
        """The earliest publication date of a stored entry, or of a tombstone: when it is
        after retention's cut-off, nothing has aged out. Bounded (kept as entries are
        written; a backend that reads entries lazily answers without them)."""
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
              forgotten: Sequence[str] = (), tombstones: Mapping[str, datetime] | None = None
              ) -> None:
        """Write a batch: entries and states upserted, events appended, ``removed`` entry
        keys deleted and kept as tombstones, ``forgotten`` tombstones dropped, then
        ``tombstones`` set as given (a takedown's keys and links, retention.TAKEDOWN)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class ClaimingStore(Protocol):
    """The optional capabilities of a store several workers share (store/postgres.py), on
    top of Store. A protocol of its own, as `reader` splits optional storage capabilities:
    ``isinstance(store, ClaimingStore)`` checks these methods only (no property of Store
    is read by the check)."""

    def claim(self, now: datetime, limit: int, lease: timedelta) -> list[tuple[str, str]]:
        """Due sources claimed for ``lease``: (source id, claim token), soonest first."""
        ...

    def holds(self, source_id: str, token: str) -> bool:
        """Whether the claim ``token`` on the source still holds (not claimed again)."""
        ...

    def apply(self, entries: Sequence[StoredEntry], states: Sequence[SourceState],
              events: Sequence[SourceEvent] = (), removed: Sequence[str] = (),
              forgotten: Sequence[str] = (), tombstones: Mapping[str, datetime] | None = None,
              fence: Mapping[str, str] | None = None) -> None:
        """``Store.apply``; with ``fence`` (source id -> claim token), only while every one
        of those claims holds, else nothing is written and ClaimLost is raised."""
        ...

    def exclusive(self, name: str, wait: bool = True) -> AbstractContextManager[bool]:
        """Hold the lock ``name`` across every process meanwhile; with ``wait=False``,
        yield False at once when another holds it."""
        ...

    def lookups_for(self, candidates: Sequence[Candidate]) -> Lookups:
        """The planner's lookups for ``candidates``, answered from a few queries."""
        ...


def open_store(path: Path | None, readonly: bool = False, url: str | None = None) -> Store:
    """The PostgreSQL store at ``url``, else the TinyDB store at ``path``, else (both None)
    an in-memory store."""
    if url is not None:
        from aggregator.store.postgres import PostgresStore

        return PostgresStore(url)
    if path is None:
        from aggregator.store.memory import MemoryStore

        return MemoryStore()
    from aggregator.store.tinydb import TinyDBStore

    return TinyDBStore(path, readonly=readonly)


__all__ = ["ClaimingStore", "Store", "open_store"]
