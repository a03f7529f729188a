"""Per-source health as operators see it (`status`, status.json, status.atom, the sources
page): the configured sources joined with what the store knows of them."""

from __future__ import annotations

from aggregator.config import Settings, SourceSettings
from aggregator.dates import iso
from aggregator.models import SourceHealth, SourceState
from aggregator.schedule import state_label
from aggregator.store import Store


def source_health(settings: Settings, store: Store) -> list[SourceHealth]:
    """One SourceHealth per configured source, in config order."""
    states = store.source_states()
    counts = store.count_by_source()
    merged = store.copies_by_source()
    base = settings.config_path.parent
    return [_health(s, s.location(base), states.get(s.id), counts.get(s.id, 0),
                    merged.get(s.id, 0)) for s in settings.sources]


def _health(source: SourceSettings, location: str, state: SourceState | None, entries: int,
            merged: int) -> SourceHealth:
    return SourceHealth(
        id=source.id, name=source.name, kind=source.kind, url=location,
        state=state_label(state, source.enabled),
        last_attempt=iso(state.last_attempt) if state else None,
        last_success=iso(state.last_success) if state else None,
        http_status=state.http_status if state else None,
        failures=state.failures if state else 0,
        last_error=state.last_error if state else None,
        next_check=iso(state.next_check_at) if state else None, entries=entries, merged=merged,
        adopted_url=state.adopted_url if state and state.adopted_from == source.url else None,
        identity=state.identity_reason and f"by link: {state.identity_reason}"
        if state else None, warning=state.warning if state else None,
        held_until=iso(state.host_hold) if state and state.host_hold and (
            state.next_check_at is None or state.host_hold >= state.next_check_at) else None,
        parser=state.parser if state else None,
        silent_since=iso(state.silent_since) if state and state.silent_since else None)
