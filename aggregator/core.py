"""The Aggregator facade: the only thing the CLI, the scheduler and the server call.

What only polling, publishing or serving needs (requests, feedparser, feedgen, Jinja2, the
server) is imported by the method that needs it: `status` and `entries --count` start in a
third of the time, and they are what operators and monitoring run most."""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aggregator.config import Settings, SourceSettings, load_settings
from aggregator.config.taxonomy import Taxonomy
from aggregator.dates import iso, utcnow
from aggregator.errors import ConfigError
from aggregator.ingest.language import LanguageChooser
from aggregator.ingest.push import Push, Subscriber
from aggregator.models import (
    CycleReport,
    Dirty,
    SourceEvent,
    SourceHealth,
    SourceState,
    StoredEntry,
)
from aggregator.operations import (  # the store-less half of the facade, re-exported for the CLI
    add_source,
    ask_running_service,
    check_config,
    check_url,
    explanation_text,
    import_sources,
    remove_source,
    serve,
    set_source_enabled,
    settings_diff,
)
from aggregator.publish.sink import DirectorySink
from aggregator.run.heap import give_back, limit_arenas
from aggregator.schedule import reenable, state_label
from aggregator.store import Store, open_store
from aggregator.version import __version__

if TYPE_CHECKING:
    from aggregator.ingest.fetch import Fetcher
    from aggregator.ingest.netguard import Resolver
    from aggregator.ingest.parse.pool import ParsePool
    from aggregator.metrics import Metrics
    from aggregator.publish.websub import WebSubPublisher
    from aggregator.run.cycle import Progress

log = logging.getLogger("aggregator")

__all__ = [
    "Aggregator",
    "add_source",
    "ask_running_service",
    "check_config",
    "check_url",
    "explanation_text",
    "import_sources",
    "remove_source",
    "serve",
    "set_source_enabled",
]

BUILD_ID = PurePosixPath(".build-id")  # in the outputs: what they were built with
LEASE = timedelta(minutes=5)  # a claimed source is due again after this if never stored


class Aggregator:
    """Poll, store, publish and report, for one Settings and one Store."""

    def __init__(self, settings: Settings, store: Store | None = None,
                 clock: Callable[[], datetime] = utcnow, readonly: bool = False,
                 parse_processes: int | None = None, resolver: Resolver | None = None
                 ) -> None:
        limit_arenas()  # before the fetch threads: see heap.py
        self.settings = settings
        self.resolver = resolver
        self.store = store if store is not None else open_store(
            settings.store.path, readonly, settings.store.url)
        self.clock = clock
        self._fetcher: Fetcher | None = None
        self.sink = DirectorySink(settings.output.dir)
        self._metrics: Metrics | None = None
        self.subscriber = Subscriber(settings.hub.base_url, clock)
        self._rendered: dict[str, object] = {}  # what each member page was rendered from
        # every writer prunes after writing entries: the store as found is pruned
        self._pruned_revision: int | None = self.store.revision
        self._processes = max(1, min(4, os.cpu_count() or 1)) if parse_processes is None \
            else parse_processes
        self._parsers: ParsePool | None = None  # started by the first poll
        self.languages = LanguageChooser(settings.hub.languages, settings.hub.language)
        self.websub: WebSubPublisher | None = None
        if settings.hub.websub_hub:
            from aggregator.publish.websub import WebSubPublisher
            self.websub = WebSubPublisher(settings.hub.websub_hub, clock)

    @classmethod
    def from_config(cls, path: Path | str, readonly: bool = False) -> Aggregator:
        return cls(load_settings(path), readonly=readonly)

    # -- commands ----------------------------------------------------------------------------

    def update(self, source_ids: Iterable[str] = (), due_only: bool = False,
               progress: Progress | None = None,
               on_stored: Callable[[], object] | None = None) -> CycleReport:
        """Poll the named sources (default: every enabled one, or only the due ones).
        ``on_stored`` runs after each store write that leaves slower sources in flight."""
        from aggregator.ingest.fetch import Fetcher
        from aggregator.ingest.source import Tools
        from aggregator.run.cycle import Poller

        sources = self._select(list(source_ids), due_only)
        if self._fetcher is None:
            self._fetcher = Fetcher.create(self.settings, self.resolver, self.clock)
        self.parsers.size_for(len(sources))
        tools = Tools.from_settings(self.settings, self._fetcher, self.parsers, self.languages)
        poller = Poller(self.settings, self.store, tools, self.clock)
        report = poller.run(sources, progress, on_stored)
        self.metrics.cycle(report)
        self.prune()
        give_back()  # the cycle's bodies are gone: so is the memory they took
        return report

    @property
    def metrics(self) -> Metrics:
        """What the service records for /metrics (prometheus_client: imported on first use)."""
        if self._metrics is None:
            from aggregator.metrics import Metrics

            self._metrics = Metrics()
        return self._metrics

    @property
    def parsers(self) -> ParsePool:
        """The parse worker processes, started on first use."""
        if self._parsers is None:
            from aggregator.ingest.parse.pool import ParsePool

            self._parsers = ParsePool.from_settings(self.settings, self._processes)
        return self._parsers

    def prune(self) -> int:
        """Apply retention; returns how many entries were removed. Skipped (no entry read)
        when no entry was written since the last pruning and nothing is old enough to go:
        a cycle of 304s then costs no whole-store read."""
        from aggregator.stories.retention import cutoff, plan_pruning

        now = self.clock()
        oldest = self.store.oldest()
        aged = oldest is not None and oldest < cutoff(self.settings.retention, now)
        if self.store.revision == self._pruned_revision and not aged:
            return 0
        pruning = plan_pruning(self.store, Taxonomy(self.settings.categories).ids,
                               self.settings.retention, now)
        if pruning.removed or pruning.forgotten:
            self.store.apply([], [], removed=pruning.removed, forgotten=pruning.forgotten)
        self._pruned_revision = self.store.revision
        return len(pruning.removed)

    def publish(self, full: bool = False) -> list[PurePosixPath]:
        """Render what the store's dirty markers touch (``full``: everything) and ping the
        WebSub hub for exactly the feeds that changed; the names of the changed outputs.
        A different config or version than the outputs were built with renders all."""
        from aggregator.publish.feeds import feed_urls, publish
        started = time.monotonic()
        websub = self.websub.status() if self.websub else None
        dirty = self.store.dirty()
        built_by = self._build_id()
        full = full or self.sink.read(BUILD_ID) != built_by
        changed = publish(self.settings, self.store, self.status(), self.sink, websub,
                          None if full else dirty, self._rendered)
        self.sink.write(BUILD_ID, built_by)
        self.store.clear_dirty(dirty)
        self.metrics.publish_seconds.observe(time.monotonic() - started)
        self.metrics.health(self.status(), self.store.count())
        if self.websub is not None and (changed or self.websub.pending):  # retry failed ones
            self.websub.publish(feed_urls(self.settings, changed))
            if self.websub.status() != websub:  # status.json tells of these pings too
                publish(self.settings, self.store, self.status(), self.sink,
                        self.websub.status(), Dirty(), self._rendered)
        return changed

    def _build_id(self) -> bytes:
        """What the outputs depend on besides the entries: the version and the settings."""
        s = self.settings
        seen = repr((__version__, s.hub, s.output, s.categories, s.sources, s.retention))
        return hashlib.sha256(seen.encode()).hexdigest().encode() + b"\n"

    def status(self) -> list[SourceHealth]:
        states = self.store.source_states()
        counts = self.store.count_by_source()
        merged = self.store.copies_by_source()
        base = self.settings.config_path.parent
        return [_health(s, s.location(base), states.get(s.id), counts.get(s.id, 0),
                        merged.get(s.id, 0)) for s in self.settings.sources]

    def enable_source(self, source_id: str) -> SourceState:
        """Operator action: poll a gone or failing source again from the next tick."""
        self.settings.source(source_id)
        state = self.store.source_state(source_id) or SourceState(source_id=source_id)
        state, event = reenable(state, self.clock())
        self.store.apply([], [state], [event])
        return state

    def reload(self) -> list[str]:
        """Read config.yaml again; a valid config applies from the next tick, an invalid one
        raises ConfigError and the running one stays. The changes, one line each."""
        new = load_settings(self.settings.config_path)
        if new.store != self.settings.store:
            raise ConfigError("store: cannot change while running (restart to use another "
                              "store)")
        changes = settings_diff(self.settings, new)
        self.settings = new
        self._pruned_revision = None  # retention may have changed: prune at the next cycle
        self.languages = LanguageChooser(new.hub.languages, new.hub.language)
        if self._fetcher is not None:  # allow_hosts, timeouts and the User-Agent may change
            self._fetcher.close()
            self._fetcher = None
        self.sink = DirectorySink(new.output.dir)
        return changes

    def run(self, stop: threading.Event, reload: threading.Event | None = None,
            watch_config: bool = False) -> None:
        """The service: publish what is stored, serve the outputs, poll what is due on the
        scheduler's ticks, until ``stop`` is set; the current cycle finishes first. Setting
        ``reload`` (SIGHUP) re-reads the config between cycles; so does a changed config
        file with ``watch_config``. Operators' requests (control.py) are carried out too."""
        from aggregator.run import control
        from aggregator.run.service import PollService  # the scheduler drives this facade
        from aggregator.server import serve_in_background

        store_path = self.settings.store.path
        marker = control.announce(store_path) if store_path else None
        self.publish()  # serve what the store already holds right away
        self.subscriber.load(self.store.source_states())
        server = serve_in_background(self.settings.output.dir, self.settings.serve.host,
                                     self.settings.serve.port, self._endpoints(),
                                     {"/websub/": self._websub_callback})
        log.info("serving %s at http://%s:%d/", self.settings.output.dir,
                 *server.server_address[:2])
        service = PollService(self, reload_wanted=reload)
        service.watch_config = watch_config
        service.start()
        try:
            stop.wait()
            log.info("stopping: waiting for the current cycle to finish")
        finally:
            service.stop()
            server.shutdown()
            server.server_close()
            if marker is not None:
                marker.unlink(missing_ok=True)

    def _endpoints(self) -> dict[str, Any]:
        """/metrics and /readyz: what the service recorded, read without the store."""
        from aggregator.metrics import CONTENT_TYPE

        def metrics() -> tuple[int, str, bytes]:
            return 200, CONTENT_TYPE, self.metrics.render()

        def readyz() -> tuple[int, str, bytes]:
            ready, why = self.metrics.ready(self._ready_within())
            return (200 if ready else 503), "text/plain; charset=utf-8", why.encode()
        return {"/metrics": metrics, "/readyz": readyz}

    def _websub_callback(self, method: str, path: str, query: dict[str, str],
                         headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
        """A hub's verification (GET) or push (POST) for one source (server thread)."""
        source_id = path.removeprefix("/websub/")
        if method == "GET":
            return self.subscriber.verify(source_id, query)
        return self.subscriber.push(source_id, body, headers)

    def websub_subscriptions(self) -> None:
        """Between cycles (scheduler thread): keep what hubs verified, ingest what they
        pushed, and ask for the subscriptions that are due (new, renewals, retries)."""
        changed = self.subscriber.take_changed()
        if changed:
            self.store.apply([], [replace(self.store.source_state(sid) or SourceState(sid),
                                          websub=sub) for sid, sub in changed.items()])
        pushes = self.subscriber.take_pushes()
        for push in pushes:
            self._ingest_push(push)
        self.metrics.pushes.labels("accepted").inc(len(pushes))
        rejected, self.subscriber.rejected = self.subscriber.rejected, 0
        self.metrics.pushes.labels("rejected").inc(rejected)
        self._subscribe_due()
        if pushes:
            self.publish()

    def _ingest_push(self, push: Push) -> None:
        from aggregator.ingest.fetch import Fetcher
        from aggregator.ingest.source import Tools, read_document
        from aggregator.models import Fetched
        from aggregator.run.outcomes import apply_outcomes

        source = next((s for s in self.settings.sources if s.id == push.source_id), None)
        if source is None:
            return
        state = self.store.source_state(source.id)
        topic = state.websub.topic if state and state.websub else (source.url or "")
        if self._fetcher is None:
            self._fetcher = Fetcher.create(self.settings, self.resolver, self.clock)
        tools = Tools.from_settings(self.settings, self._fetcher, self.parsers, self.languages)
        pushed = Fetched(url=topic, body=push.body, content_type=push.content_type,
                         etag=state.etag if state else None,  # the poll keeps its validators
                         last_modified=state.last_modified if state else None)
        outcome = read_document(source, state, tools, self.clock(), lambda: {}, pushed, topic)
        results = apply_outcomes(self.store, [outcome], self.settings,
                                 Taxonomy(self.settings.categories).fallback, self.clock())
        log.info("source %s: pushed by its hub: %s", source.id, results[source.id].outcome)

    def _subscribe_due(self) -> None:
        from aggregator.errors import FetchError
        from aggregator.ingest.fetch import Fetcher

        now = self.clock()
        for source in self.settings.sources:
            state = self.store.source_state(source.id)
            want = self.subscriber.wanted(state, now) if state and source.enabled and \
                source.url else None
            if want is None or state is None:
                continue
            if self._fetcher is None:
                self._fetcher = Fetcher.create(self.settings, self.resolver, self.clock)
            try:
                status = self._fetcher.post_form(want.hub, self.subscriber.form(source.id, want))
            except FetchError as e:
                status, why = 0, str(e)
            else:
                why = f"HTTP {status}"
            kept = self.subscriber.asked(source.id, want)  # asked: not again before ASK_AGAIN
            if status not in (202, 204):
                log.warning("source %s: hub %s refused the subscription: %s", source.id,
                            want.hub, why)
            self.store.apply([], [replace(state, websub=kept)])

    def _ready_within(self) -> float:
        """A tick may wait for a cycle: three ticks and a whole-request deadline."""
        intervals = [self.settings.interval_of(s) for s in self.settings.sources]
        tick = min([timedelta(seconds=60), *intervals])
        return 3 * tick.total_seconds() + self.settings.poll.timeout.total_seconds()

    def explain(self, ref: str) -> dict[str, Any]:
        """Why an entry (key, id or link) is stored the way it is: explain.py."""
        from aggregator.explain import explain

        return explain(self.settings, self.store, ref)

    def unmapped(self) -> dict[str, dict[str, int]]:
        """Per source, its category words that map to no hub category, with counts."""
        states = self.store.source_states()
        return {s.id: dict(states[s.id].unmapped) if s.id in states else {}
                for s in self.settings.sources}

    def events(self, limit: int = 100) -> list[SourceEvent]:
        return self.store.events(limit)

    def entries(self, category: str | None = None, source_id: str | None = None,
                include_duplicates: bool = False) -> list[StoredEntry]:
        self._check_filters(category, source_id)
        return self.store.entries(category=category, source_id=source_id,
                                  include_duplicates=include_duplicates)

    def count_entries(self, category: str | None = None, source_id: str | None = None
                      ) -> int:
        """How many ``entries(category, source_id)`` would list, without reading them."""
        self._check_filters(category, source_id)
        return self.store.count(category=category, source_id=source_id)

    def due_sources(self) -> list[SourceSettings]:
        """The enabled sources due now (a look: nothing is claimed)."""
        return self._due(claim=False)

    def claim_due_sources(self) -> list[SourceSettings]:
        """The enabled sources due now, claimed for LEASE (Store.claim_due): poll them next."""
        return self._due(claim=True)

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        if self._parsers is not None:
            self._parsers.close()
        if self._fetcher is not None:
            self._fetcher.close()
        self.store.close()

    def __enter__(self) -> Aggregator:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- helpers -----------------------------------------------------------------------------

    def _check_filters(self, category: str | None, source_id: str | None) -> None:
        if category is not None and category not in Taxonomy(self.settings.categories).ids:
            raise ConfigError(f"unknown category id {category!r}")
        if source_id is not None:
            self.settings.source(source_id)

    def _select(self, source_ids: list[str], due_only: bool) -> list[SourceSettings]:
        if source_ids:
            unknown = [s for s in source_ids if s not in {x.id for x in self.settings.sources}]
            if unknown:
                raise ConfigError(f"unknown source id(s): {', '.join(unknown)}")
            return [s for s in self.settings.sources if s.id in source_ids]
        if due_only:
            return self._due(claim=False)
        states = self.store.source_states()
        return [s for s in self.settings.sources
                if s.enabled and not getattr(states.get(s.id), "gone", False)]

    def _due(self, claim: bool) -> list[SourceSettings]:
        # the store's schedule index, plus configured sources it has never seen
        now = self.clock()
        due = set(self.store.claim_due(now, sys.maxsize, LEASE) if claim  # all are polled
                  else self.store.due(now, sys.maxsize))
        return [s for s in self.settings.sources if s.enabled and (
            s.id in due or self.store.source_state(s.id) is None)]


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
        parser=state.parser if state else None)
