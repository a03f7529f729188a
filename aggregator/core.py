"""The Aggregator facade: the only thing the CLI, the scheduler and the server call.

What only polling, publishing or serving needs (requests, feedparser, feedgen, Jinja2, the
server) is imported by the method that needs it: `status` and `entries --count` start in a
third of the time, and they are what operators and monitoring run most."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aggregator.config import Settings, SourceSettings, load_settings
from aggregator.config.model import did_you_mean
from aggregator.config.taxonomy import Taxonomy
from aggregator.dates import utcnow
from aggregator.errors import ConfigError
from aggregator.ingest.language import LanguageChooser
from aggregator.models import (
    CycleReport,
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
from aggregator.publish.health import source_health
from aggregator.publish.sink import DirectorySink
from aggregator.run.heap import give_back, limit_arenas
from aggregator.schedule import reenable
from aggregator.store import Store, open_store

if TYPE_CHECKING:
    from aggregator.ingest.fetch import Fetcher
    from aggregator.ingest.netguard import Resolver
    from aggregator.ingest.parse.pool import ParsePool
    from aggregator.ingest.source import Tools
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

LEASE = timedelta(minutes=5)  # a claimed source is due again after this if never stored


class Aggregator:
    """Poll, store, publish and report, for one Settings and one Store."""

    def __init__(self, settings: Settings, store: Store | None = None,
                 clock: Callable[[], datetime] = utcnow, readonly: bool = False,
                 parse_processes: int | None = None, resolver: Resolver | None = None
                 ) -> None:
        limit_arenas()  # before the fetch threads: see run/heap.py
        self.settings = settings
        self.resolver = resolver
        self.store = store if store is not None else open_store(
            settings.store.path, readonly, settings.store.url)
        self.clock = clock
        self._fetcher: Fetcher | None = None
        self.sink = DirectorySink(settings.output.dir)
        self._metrics: Metrics | None = None
        self._rendered: dict[str, object] = {}  # what each member page was rendered from
        self.timings: dict[str, float] = {}  # the last update and publish (seconds)
        # every writer prunes after writing entries: the store as found is pruned
        self._pruned_revision: int | None = self.store.revision
        self._processes = max(1, min(4, os.cpu_count() or 1)) if parse_processes is None \
            else parse_processes
        self._parsers: ParsePool | None = None  # started by the first poll
        self.languages = LanguageChooser(settings.hub.languages, settings.hub.language)
        if not readonly:
            self._remove_orphans()
        self.websub: WebSubPublisher | None = None
        if settings.hub.websub_hub:
            from aggregator.publish.websub import WebSubPublisher
            self.websub = WebSubPublisher(settings.hub.websub_hub, clock)

    def _remove_orphans(self) -> None:
        """What a writer killed mid-publish left: hidden temp files among the outputs, the
        search index's staging folder in memory (the store cleans its own on opening). Its
        pages may be empty too (written, not yet synced): the memo of what the health pages
        were rendered from goes, so each is rendered again."""
        from aggregator.files import remove_orphan_temporaries
        from aggregator.publish.feeds import MEMO
        from aggregator.publish.search import BUNDLE, remove_orphan_staging

        # the index's shards are built beside and swapped in whole (sink.replace_folder)
        files = remove_orphan_temporaries(self.settings.output.dir, shallow=(BUNDLE,))
        if files is not None:
            self.sink.remove(MEMO)
        folders = remove_orphan_staging()
        if files or folders:
            log.info("removed %d temp files and %d search staging folders left by a writer "
                     "that was stopped mid-write", files, folders)

    @classmethod
    def from_config(cls, path: Path | str, readonly: bool = False) -> Aggregator:
        return cls(load_settings(path), readonly=readonly)

    # -- commands ----------------------------------------------------------------------------

    def update(self, source_ids: Iterable[str] = (), due_only: bool = False,
               progress: Progress | None = None,
               on_stored: Callable[[], object] | None = None) -> CycleReport:
        """Poll the named sources (default: every enabled one, or only the due ones).
        ``on_stored`` runs after each store write that leaves slower sources in flight."""
        from aggregator.run.cycle import Cycle

        sources = self._select(list(source_ids), due_only)
        self.parsers.size_for(len(sources))
        cycle = Cycle(self.settings, self.store, self.tools(), self.clock)
        started = time.monotonic()
        report = cycle.run(sources, progress, on_stored)
        self._phase("update_s", time.monotonic() - started)  # every outcome stored
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
        from aggregator.publish.dirty import ping_hub, publish_dirty
        started = time.monotonic()
        health = self.status()  # read once for the pages and the metrics (2,000 sources)
        changed = publish_dirty(self.settings, self.store, self.sink, self.websub,
                                self._rendered, full, self.timings, health)
        self.metrics.publish_seconds.observe(time.monotonic() - started)
        self.metrics.health(health, self.store.count())
        if self.websub is not None:
            ping_hub(self.settings, self.store, self.sink, self.websub, changed, self._rendered,
                     self.timings)
        self._phase("publish_s", time.monotonic() - started)
        return changed

    def _phase(self, name: str, seconds: float) -> None:
        """A cycle phase's wall time: `poll --json`, status.json, /metrics."""
        self.timings[name] = seconds
        self.metrics.cycle_phase.labels(name.removesuffix("_s")).set(seconds)

    def status(self) -> list[SourceHealth]:
        return source_health(self.settings, self.store, self.clock())

    def enable_source(self, source_id: str, was_disabled: bool = False) -> SourceState:
        """Operator action: poll a gone, failing or disabled source again from the next
        tick (status.atom says so when it was one of those)."""
        self.settings.source(source_id)
        state = self.store.source_state(source_id) or SourceState(source_id=source_id)
        state, events = reenable(state, self.clock(), was_disabled)
        self.store.apply([], [state], events)
        return state

    def note_disabled(self, source_id: str) -> None:
        """Operator action: the source was disabled in the config (status.atom)."""
        self.store.apply([], [], [SourceEvent(source_id, "disabled", self.clock(),
                                              "disabled by an operator")])

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
        """The service until ``stop`` is set (run/service.py: run_service)."""
        from aggregator.run.service import run_service

        run_service(self, stop, reload, watch_config)

    @property
    def fetcher(self) -> Fetcher:
        """The HTTP session every poll shares, made on first use (reload drops it)."""
        if self._fetcher is None:
            from aggregator.ingest.fetch import Fetcher

            self._fetcher = Fetcher.create(self.settings, self.resolver, self.clock)
        return self._fetcher

    def tools(self) -> Tools:
        """What ingesting one source needs: Tools.from_settings, as every driver builds it."""
        from aggregator.ingest.source import Tools

        return Tools.from_settings(self.settings, self.fetcher, self.parsers, self.languages)

    def explain(self, ref: str) -> dict[str, Any]:
        """Why an entry (key, id or link) is stored the way it is: explain.py."""
        from aggregator.explain import explain

        return explain(self.settings, self.store, ref)

    def remove_entry(self, ref: str) -> list[str]:
        """Operator takedown of an entry (key, id or link) and its copies: out of every
        output at the next publish, and never stored again (stories/takedown.py)."""
        from aggregator.explain import find_entry
        from aggregator.stories.takedown import plan_takedown

        found = find_entry(self.store, ref)
        primary = self.store.get(found.duplicate_of) if found.duplicate_of else found
        story = [primary or found, *self.store.copies_of((primary or found).key)]
        plan = plan_takedown(list({e.key: e for e in story}.values()), self.clock())
        self.store.apply([], [], plan.events, removed=plan.removed, tombstones=plan.tombstones)
        return [f"removed {e.key} ({e.source_id}): {e.title}" for e in story]

    def removed_entries(self) -> list[str]:
        """What takedowns keep out: entry keys, and links after "takedown:"."""
        from aggregator.stories.retention import is_takedown

        return sorted(k for k, when in self.store.tombstones().items() if is_takedown(when))

    def purge_source(self, source_id: str) -> list[str]:
        """Remove a source's entries from the store (and so from every output); other
        sources' copies of its stories stay, as their stories' entries."""
        from aggregator.stories.takedown import plan_purge

        own = self.store.entries(source_id=source_id, include_duplicates=True)
        copies = {e.key: self.store.copies_of(e.key) for e in own if e.duplicate_of is None}
        plan = plan_purge(source_id, own, copies, self.clock())
        self.store.apply(list(plan.kept), [], plan.events, removed=plan.removed)
        if source_id not in {s.id for s in self.settings.sources}:
            from aggregator.publish.site import remove_source_pages
            remove_source_pages(self.settings, self.sink, source_id)
        return [f"{source_id}: {len(plan.removed)} entries removed from the store"
                + (f"; {len(plan.kept)} copies from other sources kept" if plan.kept else "")]

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
        if source_id is not None and source_id not in self.store.count_by_source():
            self.settings.source(source_id)  # a removed source's entries stay listable

    def _select(self, source_ids: list[str], due_only: bool) -> list[SourceSettings]:
        if source_ids:
            unknown = [s for s in source_ids if s not in {x.id for x in self.settings.sources}]
            if unknown:
                ids = [x.id for x in self.settings.sources]
                said = [s + did_you_mean(s, ids) for s in unknown]
                raise ConfigError(f"unknown source id(s): {', '.join(said)}")
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
