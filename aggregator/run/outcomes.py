"""Storing what ingesting produced: one store operation per batch of source outcomes.

``apply_outcomes(store, outcomes, …)`` plans the outcomes' candidates against the store (story
resolution across sources: stories/plan.py), decides each source's next state (schedule.py), and
writes entries, states and events in ONE ``Store.apply``, which is atomic: a source's outcome
is stored whole or not at all. With one outcome it is the per-source operation a task queue
runs; the single-node cycle passes what arrived together. Concurrency: the Store docstring.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from aggregator.config import Settings
from aggregator.errors import StoreError
from aggregator.models import SourceEvent, SourceResult, SourceState
from aggregator.outcome import SourceOutcome
from aggregator.schedule import next_state
from aggregator.store import ClaimingStore, Store
from aggregator.stories import plan as stories


def apply_outcomes(store: Store, outcomes: Sequence[SourceOutcome], settings: Settings,
                   fallback: str, now: datetime, also: Iterable[SourceState] = (),
                   fence: Mapping[str, str] | None = None) -> dict[str, SourceResult]:
    """Store ``outcomes`` (and the states in ``also``) in one write; the result per source.
    ``fence`` (scale-out, PostgreSQL): store only while these claims hold."""
    candidates = [c for o in outcomes for c in o.candidates]
    plan = stories.plan(candidates, _lookups(store, candidates),
                        {s.id: s.kind for s in settings.sources}, settings.hub.id, now, fallback)
    states, events = _states(store, outcomes, settings, now)
    states, heard = _silence(store, outcomes, states, settings, plan, now)
    events += heard
    if fence:  # only a store that hands out claims can fence a write
        if not isinstance(store, ClaimingStore):
            raise StoreError("a fenced write needs a claiming store (store.url)")
        store.apply(plan.writes, [*states, *also], events, fence=fence)
    else:
        store.apply(plan.writes, [*states, *also], events)
    merged = Counter(w.source_id for w in plan.writes if w.duplicate_of is not None)
    return {o.source_id: _result(o, plan, merged[o.source_id]) for o in outcomes}


def _lookups(store: Store, candidates: Sequence[stories.Candidate]) -> stories.Lookups:
    if isinstance(store, ClaimingStore):  # a remote store answers in a few queries
        return store.lookups_for(candidates)
    return stories.Lookups(store.get, store.by_canonical, store.by_story, store.by_fingerprint,
                           store.is_tombstone)


def _states(store: Store, outcomes: Sequence[SourceOutcome], settings: Settings,
            now: datetime) -> tuple[list[SourceState], list[SourceEvent]]:
    states, events = [], []
    for o in outcomes:
        interval = settings.interval_of(settings.source(o.source_id))
        state, found = next_state(o, store.source_state(o.source_id), interval, now)
        states.append(state)
        events.extend(found)
    return states, events


def _silence(store: Store, outcomes: Sequence[SourceOutcome], states: list[SourceState],
             settings: Settings, plan: stories.Plan, now: datetime
             ) -> tuple[list[SourceState], list[SourceEvent]]:
    """A source that answers but has brought nothing new for its silent_after is flagged
    (once, with an event); a new entry clears the flag."""
    polled = {o.source_id: o for o in outcomes}
    configured = {s.id: s for s in settings.sources}
    out, events = [], []
    for state in states:
        o, source = polled.get(state.source_id), configured.get(state.source_id)
        if o is None or source is None or o.error is not None or o.deferred_until is not None:
            out.append(state)
            continue
        if plan.new.get(state.source_id):
            out.append(replace(state, last_new=now, silent_since=None))
            continue
        since = state.last_new or _newest_seen(store, state.source_id)
        quiet = since is not None and now - since >= settings.silent_after(source)
        if quiet and state.silent_since is None:
            events.append(SourceEvent(state.source_id, "silent", now,
                                      f"nothing new since {since:%Y-%m-%d}"))
        out.append(replace(state, silent_since=(state.silent_since or since) if quiet
                           else None))
    return out, events


def _newest_seen(store: Store, source_id: str) -> datetime | None:
    """When the source's newest stored entry was first seen (states from before last_new)."""
    newest = store.entries(source_id=source_id, include_duplicates=True, limit=1)
    return newest[0].first_seen if newest else None


def _result(o: SourceOutcome, plan: stories.Plan, merged: int) -> SourceResult:
    if o.deferred_until is not None:
        return SourceResult(o.source_id, "deferred",
                            error=f"host asked to wait until {o.deferred_until.isoformat()}")
    timed = SourceResult(o.source_id, "not_modified", http_status=o.status,
                         fetch_seconds=o.fetch_seconds, parse_seconds=o.parse_seconds)
    if o.error is not None:
        return replace(timed, outcome="error", error=str(o.error))
    if o.feed is None:
        return timed
    return replace(timed, outcome="updated", new=plan.new.get(o.source_id, 0),
                   changed=plan.changed.get(o.source_id, 0), merged=merged)
