"""A source's lifecycle and schedule, as pure decisions: the one place that decides.

From a SourceOutcome and the old state: the next state, when it is next checked (interval,
jitter, exponential backoff, ttl / max-age / Expires, Retry-After, host-wide holds) and the
events for operators. Everything decided is in SourceState, which the store keeps, so a
restart, a second process or another machine sees the same schedule; the store's schedule
index (Store.due) reads it back.

States: active, backing off (failures, or a 429/503 asking us to wait), gone (410, until an
operator re-enables it), disabled (config). A permanent redirect (301/308) is adopted once
it has been seen on ADOPT_AFTER consecutive polls; the config file is never rewritten.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aggregator.models import SCRAPED, Fetched, NotModified, SourceEvent, SourceState
from aggregator.outcome import SourceOutcome

if TYPE_CHECKING:
    from aggregator.config import SourceSettings

MAX_INTERVAL = timedelta(days=1)  # ceiling for freshness hints and backoff
HOST_WIDE_RETRY = {429, 503}  # Retry-After on these applies to every source on the host
JITTER = 0.1  # up to +10%, so sources with the same interval spread out
FAILING_AFTER = 3
EMPTY_AFTER = 3  # a scraped page that yields nothing this many times in a row: flagged
WEBSUB_FALLBACK = 6  # a source whose hub pushes to us is polled this many times less often
ADOPT_AFTER = 3


def state_label(state: SourceState | None, enabled: bool) -> str:
    if not enabled:
        return "disabled"
    if state is None:
        return "never polled"
    if state.gone:
        return "gone"
    if state.failures or state.http_status in HOST_WIDE_RETRY:
        return "backing off"
    return "active"


def next_state(p: SourceOutcome, old: SourceState | None, interval: timedelta, now: datetime
               ) -> tuple[SourceState, list[SourceEvent]]:
    state = old or SourceState(source_id=p.source_id)
    if p.deferred_until is not None:
        later = max(p.deferred_until, state.next_check_at or p.deferred_until)
        return replace(state, next_check_at=later), []
    state = replace(state, last_attempt=now, http_status=p.status)
    if p.error is not None:
        return _failed(state, p, interval, now)
    state, events = _succeeded(state, p, interval, now)
    state, empty = _count_empty(state, p, now)
    return _read_notes(state, p, now), events + empty


def _count_empty(state: SourceState, p: SourceOutcome, now: datetime
                 ) -> tuple[SourceState, list[SourceEvent]]:
    """A page whose selectors stop matching (a redesign) is flagged, not silently empty."""
    if p.format != SCRAPED or isinstance(p.result, NotModified):
        return state, []
    runs = state.empty_runs + 1 if p.entries_read == 0 else 0
    state = replace(state, empty_runs=runs)
    if runs < EMPTY_AFTER:
        return state, []
    note = (f"the page's selectors matched nothing in {runs} polls in a row: has the page "
            "been redesigned? Check the source's scrape: selectors")
    state = replace(state, warning=note)
    return state, [SourceEvent(state.source_id, "selectors-broken", now, note)] \
        if runs == EMPTY_AFTER else []


def _read_notes(state: SourceState, p: SourceOutcome, now: datetime) -> SourceState:
    """A switch to link identity (sticky), and the category words that map to nothing."""
    if p.identity_reason is not None:
        state = replace(state, identity="link", identity_reason=p.identity_reason)
    if not p.parsed:
        return state
    return replace(state, unmapped=dict(p.unmapped), report=p.report, report_at=now,
                   parser=p.parser or state.parser, blocked=p.blocked)


def poll_url(source: SourceSettings, state: SourceState | None) -> str | None:
    """The adopted URL while the configured one is unchanged, else the configured one."""
    if state and state.adopted_url and state.adopted_from == source.url:
        return state.adopted_url
    return source.url


def host_of(source: SourceSettings, state: SourceState | None) -> str:
    """The host a source is fetched from: THE key of the per-host rules."""
    url = poll_url(source, state)
    return _hostname(url) if url else "(local files)"


@functools.lru_cache(maxsize=8192)
def _hostname(url: str) -> str:
    """Asked for every source several times a cycle (urlsplit was a tenth of a quiet one)."""
    return urlsplit(url).hostname or ""


def host_hold(status: int | None, retry_after: float | None, now: datetime
              ) -> datetime | None:
    """THE host-hold rule: a 429 or 503 with Retry-After holds every source on that host
    until then (the source's own next check is next_state's to decide)."""
    if status in HOST_WIDE_RETRY and retry_after is not None:
        return now + timedelta(seconds=retry_after)
    return None


def host_holds(states: Iterable[SourceState], host_of: Callable[[SourceState], str | None],
               now: datetime) -> dict[str, datetime]:
    """Hosts that asked (429/503 Retry-After) every source of theirs to wait, and until
    when: kept in the state of the source that was told, so every cycle honours it."""
    holds: dict[str, datetime] = {}
    for state in states:
        if state.host_hold is None or state.host_hold <= now:
            continue  # most: their host is not asked for (2,000 sources at every publish)
        host = host_of(state)
        if host is not None:
            holds[host] = max(state.host_hold, holds.get(host, state.host_hold))
    return holds


def held(state: SourceState, until: datetime) -> SourceState | None:
    """A source not polled waits for its host's hold too (None: it already does)."""
    if state.next_check_at is not None and state.next_check_at >= until:
        return None
    return replace(state, next_check_at=until)


def _failed(state: SourceState, p: SourceOutcome, interval: timedelta, now: datetime
            ) -> tuple[SourceState, list[SourceEvent]]:
    assert p.error is not None
    error = str(p.error)
    if p.status == 410:
        events = [] if state.gone else [SourceEvent(state.source_id, "gone", now, error)]
        return replace(state, gone=True, failures=state.failures + 1, last_error=error,
                       next_check_at=None), events
    wait = timedelta(seconds=p.retry_after) if p.retry_after is not None else None
    hold = host_hold(p.status, p.retry_after, now)
    if hold is not None:  # kept, so every cycle honours it
        state = replace(state, host_hold=hold)
    if p.status == 429:  # a request to slow down, not a failure: never counts toward gone
        return replace(state, last_error=error,
                       next_check_at=now + max(wait or interval, interval)), []
    failures = state.failures + 1
    # the exponent is bounded: 2**31 intervals is more than a timedelta holds
    backoff = min(interval * 2 ** min(failures - 1, 20), max(MAX_INTERVAL, interval))
    backoff *= 1 + JITTER * _spread(state.source_id, now)  # sources failing together spread
    events = ([SourceEvent(state.source_id, "failing", now,
                           f"{failures} failures in a row; last: {error}")]
              if failures == FAILING_AFTER else [])
    return replace(state, failures=failures, last_error=error,
                   next_check_at=now + max(backoff, wait or backoff)), events


def _succeeded(state: SourceState, p: SourceOutcome, interval: timedelta, now: datetime
               ) -> tuple[SourceState, list[SourceEvent]]:
    events = []
    if state.failures >= FAILING_AFTER:
        events.append(SourceEvent(state.source_id, "recovered", now,
                                  f"after {state.failures} failures"))
    hints = [] if p.result is None or p.result.max_age is None else [p.result.max_age]
    if state.websub is not None and state.websub.status == "active":  # pushes come: poll less
        hints.append(interval.total_seconds() * WEBSUB_FALLBACK)
    # RSS <ttl>: from this body, or remembered from the last one when the answer was 304
    ttl = p.ttl_minutes if p.parsed else state.ttl_minutes
    if ttl:
        hints.append(ttl * 60.0)
    validators: dict[str, object] = {}
    if isinstance(p.result, Fetched):
        validators = {"etag": p.result.etag, "last_modified": p.result.last_modified,
                      "body_hash": body_hash(p.result.body), "feed": p.feed or state.feed}
    elif isinstance(p.result, NotModified):  # a 304 may renew the validators
        validators = {"etag": p.result.etag or state.etag,
                      "last_modified": p.result.last_modified or state.last_modified}
    state = replace(state, last_success=now, failures=0, last_error=None, gone=False,
                    next_check_at=schedule(interval, hints, state.source_id, now),
                    ttl_minutes=ttl, warning=p.result.warning if p.result else None,
                    **validators)  # type: ignore[arg-type]
    state, moved = _track_redirect(state, p, now)
    events.extend(moved)
    return state, events


def _track_redirect(state: SourceState, p: SourceOutcome, now: datetime
                    ) -> tuple[SourceState, list[SourceEvent]]:
    target = p.result.permanent_url if p.result is not None else None
    if target is None:
        unchanged = state.redirect_to is None and not state.redirect_seen
        return (state if unchanged else replace(state, redirect_to=None, redirect_seen=0)), []
    seen = state.redirect_seen + 1 if target == state.redirect_to else 1
    if seen < ADOPT_AFTER:
        return replace(state, redirect_to=target, redirect_seen=seen), []
    adopted = replace(state, adopted_url=target,
                      adopted_from=state.adopted_from or p.polled_url, redirect_to=None,
                      redirect_seen=0)
    return adopted, [SourceEvent(state.source_id, "moved", now,
                                 f"permanently redirected: now polled at {target}")]


def schedule(interval: timedelta, hints_seconds: list[float], seed: str, now: datetime
             ) -> datetime:
    """Interval, lengthened by freshness hints, plus jitter; between interval and ceiling."""
    ceiling = max(MAX_INTERVAL, interval)
    base = max([interval, *(timedelta(seconds=h) for h in hints_seconds)])
    jittered = base * (1 + JITTER * _spread(seed, now))
    return now + max(interval, min(jittered, ceiling))


def _spread(seed: str, now: datetime) -> float:
    """A fraction in [0, 1], stable for a source and a moment: jitter that tests can pin."""
    return int(hashlib.sha256(f"{seed}|{now.isoformat()}".encode()).hexdigest()[:8], 16) \
        / 0xFFFFFFFF


def reenable(state: SourceState, now: datetime, was_disabled: bool = False
             ) -> tuple[SourceState, list[SourceEvent]]:
    """An operator brings a gone, failing or disabled source back: poll it at the next
    tick. An event only when there was something to bring back."""
    back = was_disabled or state.gone or state.failures > 0
    return (replace(state, gone=False, failures=0, last_error=None, next_check_at=None),
            [SourceEvent(state.source_id, "re-enabled", now, "re-enabled by an operator")]
            if back else [])


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
