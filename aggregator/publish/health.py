"""Per-source health as operators see it (`status`, status.json, status.atom, the sources
page): the configured sources joined with what the store knows of them."""

from __future__ import annotations

from datetime import datetime

from aggregator.config import Settings, SourceSettings
from aggregator.dates import iso, utcnow
from aggregator.models import SourceHealth, SourceState
from aggregator.schedule import host_holds, host_of, state_label
from aggregator.store import Store


def source_health(settings: Settings, store: Store, now: datetime | None = None
                  ) -> list[SourceHealth]:
    """One SourceHealth per configured source, in config order."""
    states = store.source_states()
    counts = store.count_by_source()
    merged = store.copies_by_source()
    base = settings.config_path.parent
    by_id = {s.id: s for s in settings.sources}
    holds = host_holds([st for st in states.values() if st.source_id in by_id],
                       lambda st: host_of(by_id[st.source_id], st), now or utcnow())
    return [_health(s, s.location(base), states.get(s.id), counts.get(s.id, 0),
                    merged.get(s.id, 0),
                    holds.get(host_of(s, states.get(s.id))) if holds else None)
            for s in settings.sources]


def _health(source: SourceSettings, location: str, state: SourceState | None, entries: int,
            merged: int, host_held: datetime | None) -> SourceHealth:
    """``host_held``: its host asked every source of it to wait until then."""
    return SourceHealth(
        id=source.id, name=source.name, kind=source.kind, url=location,
        state=state_label(state, source.enabled),
        last_attempt=iso(state.last_attempt) if state else None,
        last_success=iso(state.last_success) if state else None,
        http_status=state.http_status if state else None,
        failures=state.failures if state else 0,
        last_error=state.last_error if state else None,
        next_check=iso(max(state.next_check_at, host_held) if host_held and
                       state.next_check_at else state.next_check_at)
        if state and source.enabled else None,  # a disabled source is not checked
        entries=entries, merged=merged,
        adopted_url=state.adopted_url if state and state.adopted_from == source.url else None,
        identity=state.identity_reason and f"by link: {state.identity_reason}"
        if state else None, warning=state.warning if state else None,
        held_until=iso(host_held) if host_held and source.enabled else None,
        parser=state.parser if state else None,
        silent_since=iso(state.silent_since) if state and state.silent_since else None)
