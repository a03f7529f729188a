"""The poll pipeline, top to bottom: fetch -> parse -> classify -> plan -> store.apply.

Fetches run in a thread pool (at most ``poll.workers``, at most ``poll.per_host`` per host);
large documents are parsed in a process pool, off the GIL. Every source ends as a
SourceResult; one broken source never stops the cycle or touches another source's entries.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from . import dedup
from .config import Settings, SourceSettings
from .exceptions import FetchError, ParseError
from .fetch import Fetcher, body_hash
from .models import (
    CycleReport,
    FeedMeta,
    Fetched,
    NotModified,
    ParsedFeed,
    SourceResult,
    SourceState,
)
from .parse import parse_feed
from .sanitize import safe_url
from .store import Store
from .taxonomy import Taxonomy, entry_language

log = logging.getLogger("aggregator.update")

MAX_BACKOFF = timedelta(days=1)
# Below this size a document parses in the fetching thread: shipping it to a process costs
# more than it saves (see benchmarks/bench_parse.py).
PROCESS_PARSE_MIN_BYTES = 16 * 1024

Clock = Callable[[], datetime]
Progress = Callable[[int, int, int, int], None]  # done, total, new entries, failures


@dataclass(frozen=True)
class _Polled:
    source: SourceSettings
    result: Fetched | NotModified | None = None
    parsed: ParsedFeed | None = None
    error: str | None = None
    status: int | None = None


class Poller:
    """Runs one cycle over the given sources."""

    def __init__(self, settings: Settings, store: Store, fetcher: Fetcher, clock: Clock,
                 parse_pool: Callable[[], Executor | None] | None = None) -> None:
        self.settings = settings
        self.store = store
        self.fetcher = fetcher
        self.clock = clock
        self.parse_pool = parse_pool or (lambda: None)
        self.taxonomy = Taxonomy(settings.categories)
        self._host_slots: dict[str, threading.Semaphore] = {}
        self._slots_lock = threading.Lock()

    def run(self, sources: Sequence[SourceSettings], progress: Progress | None = None
            ) -> CycleReport:
        now = self.clock()
        states = self.store.source_states()
        candidates: list[dedup.Candidate] = []
        polled: dict[str, _Polled] = {}
        new_guess = failures = 0
        with ThreadPoolExecutor(self.settings.poll.workers, "fetch") as pool:
            futures = [pool.submit(self._poll_one, s, states.get(s.id)) for s in sources]
            for done, future in enumerate(as_completed(futures), 1):
                p = future.result()
                polled[p.source.id] = p
                found = self._candidates(p)
                candidates.extend(found)
                new_guess += sum(self.store.get(c.key) is None for c in found)
                failures += p.error is not None
                if progress:
                    progress(done, len(sources), new_guess, failures)
        candidates.sort(key=lambda c: (c.source_id, c.key))  # order-independent planning
        plan = dedup.plan(candidates, self.store.get, self.store.by_canonical,
                          {s.id: s.kind for s in self.settings.sources}, self.settings.hub.id,
                          now)
        new_states = [self._next_state(polled[s.id], states.get(s.id), now) for s in sources]
        self.store.apply(plan.writes, new_states)
        return CycleReport(tuple(self._result(polled[s.id], plan) for s in sources))

    # -- per source, in a fetch thread -------------------------------------------------------

    def _poll_one(self, source: SourceSettings, state: SourceState | None) -> _Polled:
        try:
            with self._slot(source):
                result = self.fetcher.fetch(source, state)
            if isinstance(result, NotModified):
                log.info("source %s: not modified", source.id)
                return _Polled(source, result, status=result.status)
            parsed = self._parse(result)
            log.info("source %s: %d entries (%s)", source.id, len(parsed.entries),
                     parsed.format)
            return _Polled(source, result, parsed, status=result.status)
        except FetchError as e:
            log.warning("source %s: fetch failed: %s", source.id, e)
            return _Polled(source, error=f"fetch failed: {e}", status=e.status)
        except ParseError as e:
            log.warning("source %s: parse failed: %s", source.id, e)
            return _Polled(source, error=f"parse failed: {e}", status=200)
        except Exception as e:  # a bug must not stop the other sources
            log.exception("source %s: unexpected error", source.id)
            return _Polled(source, error=f"internal error: {type(e).__name__}: {e}")

    def _slot(self, source: SourceSettings) -> threading.Semaphore:
        host = urlsplit(source.url).hostname or "" if source.url else "(local files)"
        with self._slots_lock:
            if host not in self._host_slots:
                self._host_slots[host] = threading.Semaphore(self.settings.poll.per_host)
            return self._host_slots[host]

    def _parse(self, fetched: Fetched) -> ParsedFeed:
        pool = self.parse_pool() if len(fetched.body) >= PROCESS_PARSE_MIN_BYTES else None
        if pool is None:
            return parse_feed(fetched.body, fetched.url, fetched.content_type)
        try:
            return pool.submit(parse_feed, fetched.body, fetched.url,
                               fetched.content_type).result()
        except ParseError:
            raise
        except Exception as e:  # a crashed worker process is this source's parse error
            raise ParseError(f"parser process failed: {type(e).__name__}: {e}") from e

    # -- back in the cycle's thread ----------------------------------------------------------

    def _candidates(self, p: _Polled) -> list[dedup.Candidate]:
        if p.parsed is None:
            return []
        source, feed = p.source, p.parsed
        entries = feed.entries
        return [dedup.Candidate(
            source_id=source.id, kind=source.kind, identity=ident, data=e,
            categories=self.taxonomy.classify(e, source),
            language=entry_language(e, source, self.settings.hub.language),
            origin=_origin(p))
            for ident, e in zip(dedup.identities(entries), entries, strict=True)]

    def _next_state(self, p: _Polled, old: SourceState | None, now: datetime) -> SourceState:
        state = old or SourceState(source_id=p.source.id)
        interval = self.settings.interval_of(p.source)
        if p.error is not None:
            failures = state.failures + 1
            backoff = min(interval * 2 ** (failures - 1), max(MAX_BACKOFF, interval))
            return replace(state, last_attempt=now, http_status=p.status, failures=failures,
                           last_error=p.error, next_check_at=now + backoff)
        if p.parsed is not None and p.parsed.ttl_minutes:
            interval = max(interval, timedelta(minutes=p.parsed.ttl_minutes))  # RSS <ttl>
        state = replace(state, last_attempt=now, last_success=now, http_status=p.status,
                        failures=0, last_error=None, next_check_at=now + interval)
        if isinstance(p.result, Fetched):
            state = replace(state, etag=p.result.etag, last_modified=p.result.last_modified,
                            body_hash=body_hash(p.result.body),
                            feed=p.parsed.meta if p.parsed else state.feed)
        return state

    @staticmethod
    def _result(p: _Polled, plan: dedup.Plan) -> SourceResult:
        if p.error is not None:
            return SourceResult(p.source.id, "error", http_status=p.status, error=p.error)
        if isinstance(p.result, NotModified):
            return SourceResult(p.source.id, "not_modified", http_status=p.status)
        return SourceResult(p.source.id, "updated", new=plan.new.get(p.source.id, 0),
                            changed=plan.changed.get(p.source.id, 0), http_status=p.status)


def _origin(p: _Polled) -> FeedMeta:
    """The origin feed's metadata; an RSS feed without a link is known by the URL we polled."""
    assert p.parsed is not None
    meta = p.parsed.meta
    if meta.link is None and isinstance(p.result, Fetched):
        return replace(meta, link=safe_url(p.result.url))
    return meta
