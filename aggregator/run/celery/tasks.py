"""The Celery tasks: fetch one claimed source, and publish the dirty outputs. The work is in
plain functions (``fetch_source``, ``publish_dirty``) taking a Context, so tests and other
runners can call them without Celery."""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from celery import shared_task

from aggregator.config import Settings, load_settings
from aggregator.dates import utcnow
from aggregator.errors import ClaimLost
from aggregator.ingest.fetch import Fetcher
from aggregator.ingest.parse.pool import ParsePool
from aggregator.ingest.source import Tools, ingest
from aggregator.models import SourceState
from aggregator.run.heap import collect_kept
from aggregator.run.hosts import HostGate
from aggregator.run.outcomes import apply_outcomes
from aggregator.schedule import held, host_hold, poll_url
from aggregator.store.postgres import PostgresStore

log = logging.getLogger("aggregator.worker")

STORY_LOCK = "stories"  # story resolution (plan + apply): one worker at a time
PUBLISH_LOCK = "publish"
BUSY_HOST_RETRY = 2.0  # seconds before a task whose host is busy is tried again


@dataclass
class Context:
    """What a worker process builds once: settings, store, HTTP session, host gate, and the
    bounded parse process its tools parse with (closed with the worker)."""

    settings: Settings
    store: PostgresStore
    tools: Tools
    gate: HostGate
    parsers: ParsePool | None = None


@functools.cache  # one per worker process (built after the fork, on first use)
def context(config: str) -> Context:
    import redis

    settings = load_settings(config)
    if settings.store.url is None:
        raise RuntimeError(f"{config}: workers need store.url (PostgreSQL)")
    store = PostgresStore(settings.store.url)
    # one parse process per worker process: documents of 256 KB and more are parsed there,
    # under ingest.parse_memory and ingest.parse_timeout, as `run` and `poll` parse them
    parsers = ParsePool.from_settings(settings, 1)
    tools = Tools.from_settings(settings, Fetcher.create(settings), parsers)
    gate = HostGate(redis.Redis.from_url(settings.queue.broker), settings.poll.per_host)
    return Context(settings, store, tools, gate, parsers)


def fetch_source(ctx: Context, source_id: str, token: str, now: datetime) -> str:
    """Ingest one claimed source and store its outcome under its claim; what happened:
    stored | held | busy | lost | unknown."""
    settings, store = ctx.settings, ctx.store
    if not store.holds(source_id, token):  # a task delivered again after its lease: stale
        return "lost"
    source = next((s for s in settings.sources if s.id == source_id), None)
    state = store.source_state(source_id) or SourceState(source_id)
    fence = {source_id: token}
    if source is None or not source.enabled:  # out of the config: rest until it is back
        rest = replace(state, next_check_at=now + settings.poll.interval)
        return _store_state(store, rest, fence, "unknown")
    host = urlsplit(poll_url(source, state) or "").hostname or ""
    until = ctx.gate.held_until(host, now)
    if until is not None:
        later = held(state, until)
        return _store_state(store, later, fence, "held") if later else "held"
    if not ctx.gate.acquire(host):
        return "busy"
    try:
        outcome = ingest(source, store.source_state(source_id), ctx.tools, now,
                         lambda: _links(store, source_id))
    finally:
        ctx.gate.release(host)
    hold = host_hold(outcome.status, outcome.retry_after, now)
    if hold is not None:
        ctx.gate.hold(host, hold)
    try:
        with store.exclusive(STORY_LOCK):  # plan against the store, then apply: one at a time
            apply_outcomes(store, [outcome], settings, ctx.tools.taxonomy.fallback, now,
                           fence=fence)
    except ClaimLost as e:
        log.warning("source %s: %s", source_id, e)
        return "lost"
    return "stored"


def _store_state(store: PostgresStore, state: SourceState | None, fence: dict[str, str],
                 done: str) -> str:
    if state is None:
        return done
    try:
        store.apply([], [state], fence=fence)
    except ClaimLost:
        return "lost"
    return done


def _links(store: PostgresStore, source_id: str) -> dict[str, str]:
    return {e.canonical_link: e.guid or "" for e in
            store.entries(source_id=source_id, include_duplicates=True) if e.canonical_link}


def publish_dirty(ctx: Context) -> int:
    """Rebuild the outputs the dirty markers name, one publisher at a time (an advisory
    lock), written atomically into output.dir; the number of files written."""
    from aggregator.publish import dirty
    from aggregator.publish.sink import DirectorySink
    from aggregator.publish.websub import WebSubPublisher

    settings = ctx.settings
    with ctx.store.exclusive(PUBLISH_LOCK, wait=False) as mine:
        if not mine:  # another worker publishes now; the next tick's task takes the rest
            return 0
        sink = DirectorySink(settings.output.dir)
        websub = WebSubPublisher(settings.hub.websub_hub, utcnow) \
            if settings.hub.websub_hub else None
        rendered: dict[str, object] = {}
        changed = dirty.publish_dirty(settings, ctx.store, sink, websub, rendered)
        if websub is not None:
            dirty.ping_hub(settings, ctx.store, sink, websub, changed, rendered)
        collect_kept()  # what the publish froze (its listings: run/heap.py), as the service
        return len(changed)


def _config() -> str:
    return os.environ.get("AGGREGATOR_CONFIG", "config.yaml")


@shared_task(bind=True, name="aggregator.fetch", max_retries=None)  # type: ignore[untyped-decorator]
def fetch(self: Any, source_id: str, token: str) -> str:
    done = fetch_source(context(_config()), source_id, token, datetime.now(UTC))
    if done == "busy":  # its host has every slot taken: wait a little, within the lease
        raise self.retry(countdown=BUSY_HOST_RETRY)
    return done


@shared_task(name="aggregator.publish")  # type: ignore[untyped-decorator]
def publish() -> int:
    return publish_dirty(context(_config()))
