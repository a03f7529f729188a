"""``aggregator scheduler``: every few seconds, claim the due sources in PostgreSQL (SKIP
LOCKED, a lease, a claim token) and send one fetch task per source; send a publish task
when entries changed. What is outstanding in the queue is capped, so it cannot run away
when workers fall behind. No schedule lives in the task engine: the sources table owns it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from aggregator.config import Settings
from aggregator.models import SourceState
from aggregator.store.postgres import PostgresStore

log = logging.getLogger("aggregator.scheduler")

TICK = 2.0  # seconds between claims
PUBLISH_EVERY = 10.0  # seconds between publish tasks at most
BATCH = 500  # sources claimed per tick at most
MIN_QUEUE = 20  # queued fetch tasks allowed before the workers' pace is known
MAX_OUTSTANDING = 5000  # queued fetch tasks at most, whatever the pace


def register_sources(store: PostgresStore, settings: Settings) -> int:
    """Configured sources the store has no row for get one (due now); the count added."""
    known = set(store.source_states())
    new = [SourceState(s.id) for s in settings.sources if s.id not in known]
    if new:
        store.apply([], new)
    return len(new)


class Pace:
    """How many queued tasks the workers start within half a lease, learnt from how fast
    the queue drains: a claim must not wait in the queue until its lease is over (it would
    be claimed and fetched again)."""

    def __init__(self, lease_seconds: float) -> None:
        self.lease = lease_seconds
        self.rate = 0.0  # tasks started per second (moving average)
        self.last: int | None = None  # queued after the last tick's sends

    def room(self, outstanding: int, elapsed: float) -> int:
        if self.last is not None and elapsed > 0:
            drained = max(0, self.last - outstanding)
            self.rate = drained / elapsed if self.rate == 0 else (
                0.7 * self.rate + 0.3 * drained / elapsed)
        target = max(MIN_QUEUE, min(MAX_OUTSTANDING, int(self.rate * self.lease / 2)))
        return max(0, min(BATCH, target - outstanding))

    def sent(self, outstanding: int, count: int) -> None:
        self.last = outstanding + count


def tick(store: PostgresStore, settings: Settings, send_fetch: Callable[[str, str], None],
         room: int, now: datetime) -> int:
    """One round of claims (at most ``room``); the number of fetch tasks sent."""
    claimed = store.claim(now, room, settings.queue.lease) if room > 0 else []
    for source_id, token in claimed:
        send_fetch(source_id, token)
    return len(claimed)


def run(settings: Settings, store: PostgresStore, app: object, stop: threading.Event,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
    from celery import Celery

    from aggregator.run.celery.app import QUEUE
    assert isinstance(app, Celery)
    register_sources(store, settings)
    with app.connection_for_write() as conn:
        def outstanding() -> int:
            try:
                return int(conn.default_channel.client.llen(QUEUE))
            except Exception:  # a broker without list queues: no cap beyond BATCH
                return 0

        def send_fetch(source_id: str, token: str) -> None:
            app.send_task("aggregator.fetch", (source_id, token), queue=QUEUE)

        def send_publish() -> None:
            app.send_task("aggregator.publish", (), queue=QUEUE)

        published, pace, ticked = 0.0, Pace(settings.queue.lease.total_seconds()), 0.0
        while not stop.is_set():
            try:
                queued, now = outstanding(), time.monotonic()
                room = pace.room(queued, now - ticked)
                ticked = now
                sent = tick(store, settings, send_fetch, room, clock())
                pace.sent(queued, sent)
                if sent:
                    log.info("claimed and sent %d source(s)", sent)
                if time.monotonic() - published >= PUBLISH_EVERY and store.dirty():
                    send_publish()
                    published = time.monotonic()
            except Exception as e:  # PostgreSQL or Redis away: say so, try again next tick
                log.error("scheduler tick failed (retrying): %s: %s", type(e).__name__, e)
            stop.wait(TICK)
