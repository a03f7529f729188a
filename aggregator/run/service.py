"""The single-node service (`aggregator run`): APScheduler 3.x runs a poll cycle for the due
sources, the server serves the outputs, and between cycles operators' requests, reloads and
WebSub subscriptions are carried out.

The schedule itself lives in the store (each source's ``next_check_at``), so APScheduler only
ticks; a future multi-node driver claims due sources from the store the same way. Between
cycles (one lock: one writer) it carries out operators' requests (control.py) and reloads
the config when asked (SIGHUP, a changed file with --watch-config, a request).
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from aggregator.errors import AggregatorError, ConfigError
from aggregator.outcome import cycle_json, report_lines
from aggregator.run import control
from aggregator.run.facade import Facade
from aggregator.run.heap import collect_kept
from aggregator.run.subscriptions import Answer, Subscriptions

log = logging.getLogger("aggregator.scheduler")
service_log = logging.getLogger("aggregator")

MAX_TICK = timedelta(seconds=60)
REQUESTS_EVERY = 1.0  # seconds between looks for operators' requests and config changes


def run_service(agg: Facade, stop: threading.Event, reload: threading.Event | None = None,
                watch_config: bool = False) -> None:
    """The service: publish what is stored, serve the outputs, poll what is due on the
    scheduler's ticks, until ``stop`` is set; the current cycle finishes first. Setting
    ``reload`` (SIGHUP) re-reads the config between cycles; so does a changed config
    file with ``watch_config``. Operators' requests (control.py) are carried out too."""
    from aggregator.server import make_server

    settings = agg.settings
    subscriptions = Subscriptions(agg)
    # the port first: a busy one fails the start before any output is written
    server = make_server(settings.output.dir, settings.serve.host, settings.serve.port,
                         endpoints=_endpoints(agg),
                         callbacks={"/websub/": subscriptions.callback},
                         admits={"/websub/": subscriptions.admit},
                         max_body=settings.poll.max_bytes)  # a hub sends a feed
    marker = None
    try:
        marker = control.announce(settings.store.path) if settings.store.path else None
        agg.publish()  # serve what the store already holds right away
        subscriptions.load()
    except BaseException:
        server.server_close()
        if marker is not None:
            marker.unlink(missing_ok=True)
        raise
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    service_log.info("serving %s at http://%s:%d/", settings.output.dir,
                     *server.server_address[:2])
    service = Service(agg, reload_wanted=reload, subscriptions=subscriptions)
    service.watch_config = watch_config
    service.start()
    try:
        stop.wait()
        service_log.info("stopping: waiting for the current cycle to finish")
    finally:
        service.stop()
        server.shutdown()
        server.server_close()
        if marker is not None:
            marker.unlink(missing_ok=True)


def _endpoints(agg: Facade) -> dict[str, Any]:
    """/metrics and /readyz: what the service recorded, read without the store."""
    from aggregator.metrics import CONTENT_TYPE

    def metrics() -> Answer:
        return 200, CONTENT_TYPE, agg.metrics.render()

    def readyz() -> Answer:
        ready, why = agg.metrics.ready(_ready_within(agg))
        return (200 if ready else 503), "text/plain; charset=utf-8", why.encode()
    return {"/metrics": metrics, "/readyz": readyz}


def _ready_within(agg: Facade) -> float:
    """A tick may wait for a cycle: three ticks and a whole-request deadline."""
    intervals = [agg.settings.interval_of(s) for s in agg.settings.sources]
    tick = min([timedelta(seconds=60), *intervals])
    return 3 * tick.total_seconds() + agg.settings.poll.timeout.total_seconds()


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


class Service:
    """Ticks every ``tick`` and polls whatever is due, then rebuilds changed outputs."""

    def __init__(self, aggregator: Facade, tick: timedelta | None = None,
                 reload_wanted: threading.Event | None = None,
                 subscriptions: Subscriptions | None = None) -> None:
        self.aggregator = aggregator
        self.subscriptions = subscriptions or Subscriptions(aggregator)
        intervals = [aggregator.settings.interval_of(s) for s in aggregator.settings.sources]
        self.tick = tick or min([MAX_TICK, *intervals])
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._turn = threading.Lock()  # a cycle, a request or a reload: one at a time
        self._reload_wanted = reload_wanted or threading.Event()
        self._config_seen = _mtime(aggregator.settings.config_path)
        self.watch_config = False
        self._last_changes: list[str] = []

    def start(self) -> None:
        self._scheduler.add_job(
            self.cycle, "interval", seconds=self.tick.total_seconds(), id="poll",
            next_run_time=datetime.now(UTC), max_instances=1, coalesce=True,
            misfire_grace_time=None)
        self._scheduler.add_job(self.housekeeping, "interval", seconds=REQUESTS_EVERY,
                                id="requests", max_instances=1, coalesce=True)
        self._scheduler.start()
        log.info("scheduler started, checking for due sources every %s", self.tick)

    def housekeeping(self) -> None:
        """Reloads and operators' requests, between cycles."""
        with self._turn:
            if self.watch_config and _mtime(self.aggregator.settings.config_path) != \
                    self._config_seen:
                self._reload_wanted.set()
            if self._reload_wanted.is_set():
                self._reload_wanted.clear()
                self.reload()
            store_path = self.aggregator.settings.store.path
            self._hold_store_lock(store_path)
            for request in control.take(store_path) if store_path else []:
                assert store_path is not None
                control.answer(store_path, request.id, **self._carry_out(request))
            try:
                self.subscriptions.upkeep()
            except AggregatorError as e:
                log.error("WebSub subscriptions: %s", e)

    def _hold_store_lock(self, store_path: Path | None) -> None:
        """A lock file removed under the service is taken again at once; while another
        process holds a new one, /readyz, `status` and the log say so (once)."""
        hold = getattr(self.aggregator.store, "hold_lock", None)
        trouble = hold() if hold is not None else None
        metrics = self.aggregator.metrics
        if trouble == metrics.store_trouble:
            return
        if trouble:
            log.error("not storing: %s", trouble)
        else:
            log.warning("storing again: the store lock is held again")
        metrics.store_trouble = trouble
        if store_path is not None:
            control.announce(store_path, trouble)

    def reload(self) -> list[str] | None:
        self._config_seen = _mtime(self.aggregator.settings.config_path)
        try:
            changes = self.aggregator.reload()
        except ConfigError as e:
            log.error("config not reloaded, the running one stays:\n  %s", "\n  ".join(e.errors))
            return None
        log.info("config reloaded: %s", "; ".join(changes) or "no change")
        self._last_changes = changes or self._last_changes
        self._retick()
        if changes:
            self.aggregator.publish()  # the outputs follow the config (sources, categories)
        return changes

    def _retick(self) -> None:
        intervals = [self.aggregator.settings.interval_of(s)
                     for s in self.aggregator.settings.sources]
        tick = min([MAX_TICK, *intervals])
        if tick != self.tick and self._scheduler.running:
            self.tick = tick
            self._scheduler.reschedule_job("poll", trigger="interval",
                                           seconds=tick.total_seconds())

    def _carry_out(self, request: control.Request) -> dict[str, Any]:
        agg = self.aggregator
        try:
            if request.kind == "reload":
                changes = self.reload()
                if changes is None:
                    return {"ok": False, "lines": ["the config is invalid: see the service log"]}
                # a watched file may have been reloaded a moment before: tell that reload
                return {"ok": True, "lines": changes or self._last_changes or ["no change"]}
            if request.kind == "enable":
                self.reload()  # `sources enable` also edits the config
                agg.enable_source(str(request.args["source"]),
                                  bool(request.args.get("was_disabled")))
                agg.publish()
                return {"ok": True, "lines": [f"{request.args['source']}: re-enabled by the "
                                              "running service; polled at its next tick"]}
            if request.kind == "poll":
                report = agg.update(list(request.args.get("sources") or []))
                agg.publish()
                collect_kept()
                if request.args.get("json"):
                    return {"ok": True, "lines": [json.dumps(cycle_json(report, agg.timings),
                                                             ensure_ascii=False, indent=2)]}
                return {"ok": True, "lines": report_lines(report)}
            if request.kind == "disable":
                changes = self.reload()  # `sources disable` edited the config
                if changes is None:
                    return {"ok": False, "lines": ["the config is invalid: see the service log"]}
                agg.note_disabled(str(request.args["source"]))
                agg.publish()
                return {"ok": True, "lines": changes or self._last_changes or ["no change"]}
            if request.kind == "remove-entry":
                lines = agg.remove_entry(str(request.args["entry"]))
                agg.publish()
                return {"ok": True, "lines": lines}
            if request.kind == "purge":
                self.reload()  # `sources remove` edited the config first
                lines = agg.purge_source(str(request.args["source"]))
                agg.publish()
                return {"ok": True, "lines": lines}
            if request.kind == "build":
                return {"ok": True, "lines": [f"{len(agg.publish(full=True))} file(s) written "
                                              "by the running service"]}
        except AggregatorError as e:
            return {"ok": False, "lines": [str(e)]}
        return {"ok": False, "lines": [f"unknown request {request.kind!r}"]}

    def stop(self) -> None:
        """Waits for a running cycle to finish, so the store is never left half-written."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def cycle(self) -> None:
        with self._turn:
            self._cycle()

    def _cycle(self) -> None:
        try:
            due = self.aggregator.claim_due_sources()
            if not due:
                self.aggregator.metrics.ticked()
                return
            # published as sources complete: a slow one never holds the others' news back
            report = self.aggregator.update([s.id for s in due],
                                            on_stored=self.aggregator.publish)
            self.aggregator.publish()
            collect_kept()  # what the cycle froze and left behind (run/heap.py)
            log.info("cycle: %d source(s), %d new, %d updated, %d failed", len(due),
                     report.new, report.updated, report.failed)
            self.aggregator.metrics.ticked()
        except AggregatorError as e:
            log.error("cycle failed: %s", e)
        except Exception:  # keep the service alive; the next tick tries again
            log.exception("cycle failed unexpectedly")
