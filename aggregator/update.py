"""The poll pipeline, top to bottom: fetch -> parse -> classify -> plan -> store.apply.

Fetches run in a thread pool (at most ``poll.workers``, at most ``poll.per_host`` per host,
so one slow host only ties up its own slots); documents are parsed by the injected parser
(the bounded process pool of parsepool.py in the service), then capped (limits.py). Every
source ends as a SourceResult; one broken source never stops the cycle or touches another
source's entries.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from . import dedup, retention
from .config import Settings, SourceSettings
from .exceptions import FetchError, ParseError
from .fetch import Fetcher, poll_url
from .language import LanguageChooser
from .lifecycle import HOST_WIDE_RETRY, Polled, next_state
from .limits import cap_feed
from .models import (
    CycleReport,
    EntryData,
    FeedMeta,
    Fetched,
    NotModified,
    ParsedFeed,
    SourceEvent,
    SourceResult,
    SourceState,
)
from .parse import parse_feed
from .sanitize import safe_url
from .store import Store
from .taxonomy import Taxonomy
from .undated import place_undated

log = logging.getLogger("aggregator.update")

MAX_UNMAPPED = 200  # unmapped category words remembered per source
FLUSH_EVERY = 5.0  # seconds: results that arrived are stored while slower sources go on

Clock = Callable[[], datetime]
Parser = Callable[[bytes, str, str | None], ParsedFeed]
Progress = Callable[[int, int, int, int], None]  # done, total, new entries, failures


def host_of(source: SourceSettings, state: SourceState | None) -> str:
    url = poll_url(source, state)
    return (urlsplit(url).hostname or "") if url else "(local files)"


class Poller:
    """Runs one cycle over the given sources."""

    def __init__(self, settings: Settings, store: Store, fetcher: Fetcher, clock: Clock,
                 parser: Parser = parse_feed, languages: LanguageChooser | None = None
                 ) -> None:
        self.settings = settings
        self.store = store
        self.fetcher = fetcher
        self.clock = clock
        self.parser = parser
        self.taxonomy = Taxonomy(settings.categories)
        self.languages = languages or LanguageChooser(settings.hub.languages,
                                                      settings.hub.language)
        self._host_blocked: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def run(self, sources: Sequence[SourceSettings], progress: Progress | None = None,
            on_stored: Callable[[], object] | None = None) -> CycleReport:
        """Poll ``sources``; what has arrived is stored every FLUSH_EVERY seconds, so a
        slow source (held up to poll.timeout) never holds the others' entries back.
        ``on_stored`` is called after each store write (the service publishes there)."""
        now = self.clock()
        states = self.store.source_states()
        self._holds_from(states, now)
        results: dict[str, SourceResult] = {}
        pending: list[tuple[Polled, list[dedup.Candidate]]] = []
        done = failures = new_guess = 0
        last_flush = time.monotonic()
        for p in self._fetch_all(sources, states, now):
            if p is not None:
                found = self._candidates(self.settings.source(p.source_id), p, states, now)
                pending.append((p, found))
                done += 1
                failures += p.error is not None
                new_guess += sum(self.store.get(c.key) is None for c in found)
                if progress:
                    progress(done, len(sources), new_guess, failures)
            if pending and time.monotonic() - last_flush >= FLUSH_EVERY and done < len(sources):
                results.update(self._store(pending, states, now))
                pending, last_flush = [], time.monotonic()
                if on_stored:
                    on_stored()
        results.update(self._store(pending, states, now, sources))
        return CycleReport(tuple(results[s.id] for s in sources))

    def _store(self, pending: list[tuple[Polled, list[dedup.Candidate]]],
               states: dict[str, SourceState], now: datetime,
               cycle: Sequence[SourceSettings] | None = None) -> dict[str, SourceResult]:
        """Plan and store what these sources brought, in one store write; with ``cycle``
        (the last write of a cycle), the host-wide waits of sources not polled too."""
        polled = [p for p, _ in pending]
        candidates = [c for _, found in pending for c in found]
        store = self.store
        lookups = dedup.Lookups(store.get, store.by_canonical, store.by_story,
                                store.by_fingerprint, store.is_tombstone)
        plan = dedup.plan(candidates, lookups, {s.id: s.kind for s in self.settings.sources},
                          self.settings.hub.id, now, self.taxonomy.fallback)
        new_states, events = self._states(polled, states, now)
        if cycle is not None:
            new_states.extend(self._host_wide_waits(cycle, states))
        store.apply(plan.writes, new_states, events)
        return {p.source_id: _result(p, plan) for p in polled}

    def _fetch_all(self, sources: Sequence[SourceSettings], states: dict[str, SourceState],
                   now: datetime) -> Iterator[Polled | None]:
        """Polled sources as they complete, and None every FLUSH_EVERY seconds without one.

        A source is handed to a worker only when its host has a free slot, so workers never
        sit waiting on a slow host while other hosts' sources queue behind them.
        """
        queues: dict[str, deque[SourceSettings]] = defaultdict(deque)
        for s in sources:
            queues[host_of(s, states.get(s.id))].append(s)
        busy: Counter[str] = Counter()
        running: dict[Future[Polled], str] = {}
        with ThreadPoolExecutor(self.settings.poll.workers, "fetch") as pool:
            while queues or running:
                for host in list(queues):  # round-robin over hosts
                    while queues[host] and busy[host] < self.settings.poll.per_host:
                        s = queues[host].popleft()
                        running[pool.submit(self._poll_one, s, states.get(s.id), now)] = host
                        busy[host] += 1
                    if not queues[host]:
                        del queues[host]
                done, _ = wait(running, timeout=FLUSH_EVERY, return_when=FIRST_COMPLETED)
                if not done:
                    yield None  # a tick: time to store what has arrived
                for future in done:
                    busy[running.pop(future)] -= 1
                    yield future.result()

    # -- per source, in a fetch thread -------------------------------------------------------

    def _poll_one(self, source: SourceSettings, state: SourceState | None, now: datetime
                  ) -> Polled:
        host = host_of(source, state)
        url = poll_url(source, state)
        try:
            blocked = self._blocked_until(host, now)
            if blocked is not None:
                log.info("source %s: deferred, %s asked us to wait", source.id, host)
                return Polled(source.id, deferred_until=blocked)
            return self._parsed(source, self.fetcher.fetch(source, state), url)
        except FetchError as e:
            log.warning("source %s: fetch failed: %s", source.id, e)
            if e.status in HOST_WIDE_RETRY and e.retry_after is not None:
                self._block(host, now + timedelta(seconds=e.retry_after))
            return Polled(source.id, error=f"fetch failed: {e}", status=e.status,
                          retry_after=e.retry_after, polled_url=url)
        except ParseError as e:
            log.warning("source %s: parse failed: %s", source.id, e)
            return Polled(source.id, error=f"parse failed: {e}", status=200, polled_url=url)
        except Exception as e:  # a bug must not stop the other sources
            log.exception("source %s: unexpected error", source.id)
            return Polled(source.id, error=f"internal error: {type(e).__name__}: {e}",
                          polled_url=url)

    def _parsed(self, source: SourceSettings, result: Fetched | NotModified, url: str | None
                ) -> Polled:
        if isinstance(result, NotModified):
            log.info("source %s: not modified", source.id)
            return Polled(source.id, result, status=result.status, polled_url=url)
        parsed = self._parse(result)
        log.info("source %s: %d entries (%s)", source.id, len(parsed.entries), parsed.format)
        return Polled(source.id, result, parsed, status=result.status, polled_url=url)

    def _holds_from(self, states: dict[str, SourceState], now: datetime) -> None:
        """Host-wide Retry-After holds announced in earlier cycles (or by another process):
        stored with the source that received them."""
        by_id = {s.id: s for s in self.settings.sources}
        for state in states.values():
            source = by_id.get(state.source_id)
            if source is not None and state.host_hold is not None and state.host_hold > now:
                self._block(host_of(source, state), state.host_hold)

    def _block(self, host: str, until: datetime) -> None:
        with self._lock:
            self._host_blocked[host] = max(until, self._host_blocked.get(host, until))

    def _blocked_until(self, host: str, now: datetime) -> datetime | None:
        with self._lock:
            until = self._host_blocked.get(host)
        return until if until is not None and until > now else None

    def _parse(self, fetched: Fetched) -> ParsedFeed:
        parsed = self.parser(fetched.body, fetched.url, fetched.content_type)
        return cap_feed(parsed, self.settings.ingest)

    # -- back in the cycle's thread ----------------------------------------------------------

    def _candidates(self, source: SourceSettings, p: Polled, states: dict[str, SourceState],
                    now: datetime) -> list[dedup.Candidate]:
        if p.parsed is None:
            return []
        oldest = retention.cutoff(self.settings.retention, now)
        state = states.get(source.id)
        first_poll = state is None or state.last_success is None  # a whole backlog at once
        placed = place_undated(list(p.parsed.entries), now) if first_poll \
            else [None] * len(p.parsed.entries)
        kept = [(e, d) for e, d in zip(p.parsed.entries, placed, strict=True)
                if (e.published or e.updated or d or now) >= oldest]
        entries = [e for e, _ in kept]
        by_link = self._ids_broken(source, p, entries, states.get(source.id))
        origin = _origin(p)
        return [dedup.Candidate(
            source_id=source.id, kind=source.kind, identity=ident, data=e,
            categories=self.taxonomy.classify(e, source),
            language=self.languages.choose(e, source), origin=origin, by_link=by_link,
            placed=d)
            for ident, (e, d) in zip(dedup.identities(entries, by_link), kept, strict=True)]

    def _ids_broken(self, source: SourceSettings, p: Polled, entries: list[EntryData],
                    state: SourceState | None) -> bool:
        """Whether to identify this source's entries by link; decided once, then sticky."""
        if state is not None and state.identity == "link":
            return True
        stored = {e.canonical_link: e.guid or "" for e in
                  self.store.entries(source_id=source.id, include_duplicates=True)
                  if e.canonical_link}
        reason = dedup.broken_ids(entries, stored)
        if reason is not None:
            log.warning("source %s: switching to link-based identity: %s", source.id, reason)
            p.notes["identity_reason"] = reason
        return reason is not None

    def _states(self, polled: list[Polled], states: dict[str, SourceState], now: datetime
                ) -> tuple[list[SourceState], list[SourceEvent]]:
        new_states, events = [], []
        for p in polled:
            s = self.settings.source(p.source_id)
            state, found = next_state(p, states.get(s.id), self.settings.interval_of(s), now)
            new_states.append(self._taxonomy_notes(s, p, state))
            events.extend(found)
        return new_states, events

    def _taxonomy_notes(self, source: SourceSettings, p: Polled, state: SourceState
                        ) -> SourceState:
        """Record a switch to link identity, and the category words that map to nothing."""
        if "identity_reason" in p.notes:
            state = replace(state, identity="link", identity_reason=p.notes["identity_reason"])
        if p.parsed is None:
            return state
        counts = Counter(word for e in p.parsed.entries
                         for word in self.taxonomy.unmapped(e.raw_categories, source))
        return replace(state, unmapped=dict(sorted(counts.most_common(MAX_UNMAPPED))))

    def _host_wide_waits(self, polled: Sequence[SourceSettings],
                         states: dict[str, SourceState]) -> list[SourceState]:
        """Sources not polled this cycle wait for their host's Retry-After too."""
        done = {s.id for s in polled}
        out = []
        for s in self.settings.sources:
            state = states.get(s.id) or SourceState(source_id=s.id)
            until = self._host_blocked.get(host_of(s, state))
            if s.id in done or until is None:
                continue
            if state.next_check_at is None or state.next_check_at < until:
                out.append(replace(state, next_check_at=until))
        return out


def _result(p: Polled, plan: dedup.Plan) -> SourceResult:
    if p.deferred_until is not None:
        return SourceResult(p.source_id, "deferred",
                            error=f"host asked to wait until {p.deferred_until.isoformat()}")
    if p.error is not None:
        return SourceResult(p.source_id, "error", http_status=p.status, error=p.error)
    if isinstance(p.result, NotModified):
        return SourceResult(p.source_id, "not_modified", http_status=p.status)
    return SourceResult(p.source_id, "updated", new=plan.new.get(p.source_id, 0),
                        changed=plan.changed.get(p.source_id, 0), http_status=p.status)


def _origin(p: Polled) -> FeedMeta:
    """The origin feed's metadata. Its rel=self is the URL we polled (where the feed really
    is); an RSS feed without a link is known by that URL too."""
    assert p.parsed is not None
    meta = p.parsed.meta
    polled = safe_url(p.result.url) if isinstance(p.result, Fetched) else None
    if polled is None:
        return meta
    return replace(meta, self_link=polled, link=meta.link or polled)
