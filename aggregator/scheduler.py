"""The single-node driver: APScheduler 3.x runs a poll cycle for the due sources.

The schedule itself lives in the store (each source's ``next_check_at``), so APScheduler only
ticks; a future multi-node driver claims due sources from the store the same way.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from .core import Aggregator
from .exceptions import AggregatorError

log = logging.getLogger("aggregator.scheduler")

MAX_TICK = timedelta(seconds=60)


class PollService:
    """Ticks every ``tick`` and polls whatever is due, then rebuilds changed outputs."""

    def __init__(self, aggregator: Aggregator, tick: timedelta | None = None) -> None:
        self.aggregator = aggregator
        intervals = [aggregator.settings.interval_of(s) for s in aggregator.settings.sources]
        self.tick = tick or min([MAX_TICK, *intervals])
        self._scheduler = BackgroundScheduler(timezone=UTC)

    def start(self) -> None:
        self._scheduler.add_job(
            self.cycle, "interval", seconds=self.tick.total_seconds(), id="poll",
            next_run_time=datetime.now(UTC), max_instances=1, coalesce=True,
            misfire_grace_time=None)
        self._scheduler.start()
        log.info("scheduler started, checking for due sources every %s", self.tick)

    def stop(self) -> None:
        """Waits for a running cycle to finish, so the store is never left half-written."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def cycle(self) -> None:
        try:
            due = self.aggregator.claim_due_sources()
            if not due:
                return
            # published as sources complete: a slow one never holds the others' news back
            report = self.aggregator.update([s.id for s in due],
                                            on_stored=self.aggregator.publish)
            self.aggregator.publish()
            log.info("cycle: %d source(s), %d new, %d updated, %d failed", len(due),
                     report.new, report.updated, report.failed)
        except AggregatorError as e:
            log.error("cycle failed: %s", e)
        except Exception:  # keep the service alive; the next tick tries again
            log.exception("cycle failed unexpectedly")
