"""The single-node poll cycle: due sources -> ingest (threads) -> apply_outcomes (store).

Each source is ingested by ``ingest.ingest`` (one source, top to bottom) in a thread pool of
at most ``poll.workers``, at most ``poll.per_host`` per host, so one slow host only ties up
its own slots; a host that asked every source of its to wait (Retry-After, schedule.py) is
not contacted. What has arrived is stored every FLUSH_EVERY seconds with
``apply_outcomes`` (outcomes.py). One broken source never stops the cycle or touches another
source's entries.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime

from aggregator.config import Settings, SourceSettings
from aggregator.ingest.source import Tools, ingest
from aggregator.models import CycleReport, SourceResult, SourceState
from aggregator.outcome import SourceOutcome
from aggregator.run.heap import collector_paused, keep_stored
from aggregator.run.outcomes import apply_outcomes
from aggregator.schedule import held, host_hold, host_holds, host_of
from aggregator.store import Store

log = logging.getLogger("aggregator.update")

FLUSH_EVERY = 5.0  # seconds: results that arrived are stored while slower sources go on

Clock = Callable[[], datetime]
Progress = Callable[[int, int, int, int], None]  # done, total, new entries, failures


class Cycle:
    """Runs one cycle over the given sources."""

    def __init__(self, settings: Settings, store: Store, tools: Tools, clock: Clock) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.taxonomy = tools.taxonomy
        self.tools = tools
        self._holds: dict[str, datetime] = {}  # host -> until: read from the store, then kept
        self._store_turn = threading.Lock()  # fetch threads read the store; this thread writes

    def run(self, sources: Sequence[SourceSettings], progress: Progress | None = None,
            on_stored: Callable[[], object] | None = None) -> CycleReport:
        """Poll ``sources``; what has arrived is stored every FLUSH_EVERY seconds, so a
        slow source (held up to poll.timeout) never holds the others' entries back.
        ``on_stored`` is called after each store write (the service publishes there)."""
        now = self.clock()
        states = self.store.source_states()
        by_id = {s.id: s for s in self.settings.sources}
        self._holds = host_holds(states.values(), lambda st: host_of(by_id[st.source_id], st)
                                 if st.source_id in by_id else None, now)
        results: dict[str, SourceResult] = {}
        with collector_paused():  # run/heap.py
            self._poll(sources, states, now, progress, on_stored, results)
        return CycleReport(tuple(results[s.id] for s in sources))

    def _poll(self, sources: Sequence[SourceSettings], states: Mapping[str, SourceState],
              now: datetime, progress: Progress | None, on_stored: Callable[[], object] | None,
              results: dict[str, SourceResult]) -> None:
        """The cycle's outcomes, stored as they come (into ``results``)."""
        pending: list[SourceOutcome] = []
        done = failures = new_guess = 0
        last_flush = time.monotonic()
        for o in self._ingest_all(sources, states, now):
            if o is not None:
                pending.append(o)
                done += 1
                failures += o.error is not None
                new_guess += sum(self.store.get(c.key) is None for c in o.candidates)
                if progress:
                    progress(done, len(sources), new_guess, failures)
            if pending and time.monotonic() - last_flush >= FLUSH_EVERY and done < len(sources):
                results.update(self._store(pending, now))
                pending, last_flush = [], time.monotonic()
                keep_stored()
                if on_stored:
                    on_stored()
        results.update(self._store(pending, now, self._waiting(sources, states)))

    def _store(self, pending: list[SourceOutcome], now: datetime,
                also: Sequence[SourceState] = ()) -> dict[str, SourceResult]:
        with self._store_turn:
            return apply_outcomes(self.store, pending, self.settings, self.taxonomy.fallback,
                                  now, also)

    def _ingest_all(self, sources: Sequence[SourceSettings], states: Mapping[str, SourceState],
                    now: datetime) -> Iterator[SourceOutcome | None]:
        """Outcomes as sources complete, and None every FLUSH_EVERY seconds without one.

        A source is handed to a worker only when its host has a free slot, so workers never
        sit waiting on a slow host while other hosts' sources queue behind them.
        """
        queues: dict[str, deque[SourceSettings]] = defaultdict(deque)
        for s in sources:
            queues[host_of(s, states.get(s.id))].append(s)
        busy: Counter[str] = Counter()
        running: dict[Future[SourceOutcome], str] = {}
        with ThreadPoolExecutor(self.settings.poll.workers, "fetch") as pool:
            while queues or running:
                for host in list(queues):  # round-robin over hosts
                    while queues[host] and busy[host] < self.settings.poll.per_host:
                        s = queues[host].popleft()
                        if host in self._holds:  # the host asked us to wait: not contacted
                            yield self._deferred(s, host)
                            continue
                        running[pool.submit(self._ingest_one, s, states.get(s.id), now)] = host
                        busy[host] += 1
                    if not queues[host]:
                        del queues[host]
                done, _ = wait(running, timeout=FLUSH_EVERY, return_when=FIRST_COMPLETED)
                if not done:
                    yield None  # a tick: time to store what has arrived
                for future in done:
                    host = running.pop(future)
                    busy[host] -= 1
                    outcome = future.result()
                    self._hold_if_asked(host, outcome, now)
                    yield outcome

    def _ingest_one(self, source: SourceSettings, state: SourceState | None, now: datetime
                    ) -> SourceOutcome:
        def stored_links() -> dict[str, str]:
            with self._store_turn:  # never while the cycle's thread writes the store
                return {e.canonical_link: e.guid or "" for e in
                        self.store.entries(source_id=source.id, include_duplicates=True)
                        if e.canonical_link}
        return ingest(source, state, self.tools, now, stored_links)

    def _deferred(self, source: SourceSettings, host: str) -> SourceOutcome:
        log.info("source %s: deferred, %s asked us to wait", source.id, host)
        return SourceOutcome(source.id, deferred_until=self._holds[host])

    def _hold_if_asked(self, host: str, o: SourceOutcome, now: datetime) -> None:
        """A 429/503 with Retry-After holds the host's other sources from now on."""
        until = host_hold(o.status, o.retry_after, now)
        if until is not None:
            self._holds[host] = max(until, self._holds.get(host, until))

    def _waiting(self, polled: Sequence[SourceSettings], states: Mapping[str, SourceState]
                 ) -> list[SourceState]:
        """Sources not polled this cycle wait for their host's hold too."""
        done = {s.id for s in polled}
        out = []
        for s in self.settings.sources:
            state = states.get(s.id) or SourceState(source_id=s.id)
            until = self._holds.get(host_of(s, state))
            if s.id not in done and until is not None:
                out += [w for w in [held(state, until)] if w is not None]
        return out
