"""What a monitoring system scrapes: /metrics (Prometheus text), /healthz, /readyz.

One registry per service (no process-wide state). Everything is recorded by the thread that
does the work (the scheduler's, between store writes); the server thread only renders what
was recorded, so a scrape never reads the store while a cycle writes it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter as Tally
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from aggregator.models import CycleReport, SourceHealth

CONTENT_TYPE = CONTENT_TYPE_LATEST
DURATIONS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# Per-source series: one label value per configured source, for the first MAX_SOURCE_SERIES
# sources in config order (a network of thousands would flood a Prometheus server); a
# source taken out of the config loses its series at the next publish.
MAX_SOURCE_SERIES = 1000


class Metrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.polls = Counter("aggregator_polls", "Source polls by outcome", ["outcome"],
                             registry=r)
        self.statuses = Counter("aggregator_http_responses", "HTTP statuses of polls",
                                ["status"], registry=r)
        self.fetch = Histogram("aggregator_fetch_seconds", "Time to fetch one source",
                               buckets=DURATIONS, registry=r)
        self.parse = Histogram("aggregator_parse_seconds", "Time to read one document",
                               buckets=DURATIONS, registry=r)
        self.entries = Counter("aggregator_entries", "Entries stored, by what happened",
                               ["change"], registry=r)
        self.sources = Gauge("aggregator_sources", "Configured sources by state", ["state"],
                             registry=r)
        self.stored = Gauge("aggregator_store_entries", "Entries in the store (copies not "
                            "counted)", registry=r)
        self.last_cycle = Gauge("aggregator_last_cycle_timestamp_seconds", "When the last "
                                "poll cycle completed (Unix time)", registry=r)
        self.publish_seconds = Histogram("aggregator_publish_seconds", "Time to publish",
                                         buckets=DURATIONS, registry=r)
        self.pushes = Counter("aggregator_websub_pushes", "WebSub content pushes received",
                              ["result"], registry=r)
        self.cycle_phase = Gauge("aggregator_cycle_phase_seconds", "Wall time of the last "
                                 "cycle's phases: update (fetch, parse, store) and publish",
                                 ["phase"], registry=r)
        self.source_fetch = Gauge("aggregator_source_fetch_seconds", "Time the source's "
                                  "last fetch took", ["source"], registry=r)
        self.source_entries = Gauge("aggregator_source_entries", "Entries stored for the "
                                    "source, merged copies included", ["source"], registry=r)
        self.source_failures = Gauge("aggregator_source_failures", "The source's "
                                     "consecutive failed polls", ["source"], registry=r)
        self.source_state = Gauge("aggregator_source_state", "1 for the source's state "
                                  "(active, backing off, gone, disabled, never polled)",
                                  ["source", "state"], registry=r)
        self._exported: set[str] = set()  # sources with series
        self._last_fetch: dict[str, float] = {}
        self._lock = threading.Lock()
        self._rendering = threading.Lock()
        self._last_cycle_at: float | None = None
        self._store_ok = True
        self._health: tuple[list[SourceHealth], int | None] | None = None  # not yet set
        self.store_trouble: str | None = None  # the store lock lost to another writer

    def cycle(self, report: CycleReport) -> None:
        for r in report.results:
            self.polls.labels(r.outcome).inc()
            if r.http_status is not None:
                self.statuses.labels(str(r.http_status)).inc()
            if r.fetch_seconds is not None:
                self.fetch.observe(r.fetch_seconds)
                self._last_fetch[r.source_id] = r.fetch_seconds  # exported by health()
            if r.parse_seconds is not None:
                self.parse.observe(r.parse_seconds)
            for change, n in (("new", r.new), ("updated", r.changed), ("merged", r.merged)):
                self.entries.labels(change).inc(n)

    def ticked(self) -> None:
        """A scheduler tick completed (with a cycle, or with nothing due)."""
        now = time.time()
        self.last_cycle.set(now)
        with self._lock:
            self._last_cycle_at = now

    def health(self, sources: Sequence[SourceHealth], stored: int | None) -> None:
        """The sources' states and the store's size, after each publish; ``stored`` None:
        the store could not be read. Set into the gauges when they are read (render): a
        poll run once from the command line never reads them (2,000 sources' series were
        a tenth of a quiet poll's publish)."""
        with self._lock:
            self._store_ok = stored is not None
            self._health = (list(sources), stored)

    def _set_health(self) -> None:
        with self._lock:
            pending, self._health = self._health, None
        if pending is None:
            return
        sources, stored = pending
        for state, n in Tally(h.state for h in sources).items():
            self.sources.labels(state).set(n)
        for state in {"active", "backing off", "gone", "disabled", "never polled"} - {
                h.state for h in sources}:
            self.sources.labels(state).set(0)
        if stored is not None:
            self.stored.set(stored)
        self._per_source(sources[:MAX_SOURCE_SERIES])

    def _per_source(self, sources: Sequence[SourceHealth]) -> None:
        shown = {h.id for h in sources}
        for gone in self._exported - shown:
            for gauge in (self.source_fetch, self.source_entries, self.source_failures):
                with contextlib.suppress(KeyError):
                    gauge.remove(gone)
            self._clear_state(gone)
        for h in sources:
            self.source_entries.labels(h.id).set(h.entries)
            self.source_failures.labels(h.id).set(h.failures)
            if h.id in self._last_fetch:
                self.source_fetch.labels(h.id).set(self._last_fetch[h.id])
            self._clear_state(h.id)
            self.source_state.labels(h.id, h.state).set(1)
        self._exported = shown

    def _clear_state(self, source_id: str) -> None:
        for state in ("active", "backing off", "gone", "disabled", "never polled"):
            with contextlib.suppress(KeyError):
                self.source_state.remove(source_id, state)

    def render(self) -> bytes:
        with self._rendering:  # two scrapes at once: the second sees the series set
            self._set_health()
            return generate_latest(self.registry)

    def ready(self, within: float) -> tuple[bool, str]:
        """Ready when the store was readable and a cycle completed in the last ``within``
        seconds."""
        with self._lock:
            last, store_ok = self._last_cycle_at, self._store_ok
        if not store_ok:
            return False, "store unreadable\n"
        if self.store_trouble:
            return False, f"not storing: {self.store_trouble}\n"
        if last is None:
            return False, "no poll cycle completed yet\n"
        age = time.time() - last
        if age > within:
            return False, f"last poll cycle {age:.0f} s ago (more than {within:.0f} s)\n"
        return True, f"ok: last poll cycle {age:.0f} s ago\n"
