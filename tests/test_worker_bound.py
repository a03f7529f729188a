"""A Celery worker builds its ingest tools the way `run` and `poll` do (Tools.from_settings):
a large hostile document is parsed in a bounded process, never inline in the worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import FeedServer, Response, empty_postgres, write_config

from aggregator.config import load_settings
from aggregator.ingest.parse.fast_path import read_feed
from aggregator.models import SourceState
from aggregator.run.celery.tasks import context, fetch_source

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
REDIS = "redis://127.0.0.1:6379/14"  # the host gate's keys; nothing is held for loopback
# 8 MB, under the 10 MiB fetch cap: parsed inline it takes ~100 MB, more than the bound
BIG = (b'<rss version="2.0"><channel><title>t</title>' + b"".join(
    b"<item><title>x</title><link>https://x.example/%d</link><description>" % i
    + b"a" * 200_000 + b"</description></item>" for i in range(40)) + b"</channel></rss>")


def test_a_worker_parses_a_large_hostile_document_inside_the_bound(
        tmp_path: Path, postgres_url: str, feed_server: FeedServer) -> None:
    assert len(read_feed(BIG, "https://x.example/f", None).entries) == 40  # inline: no bound
    feed_server.routes["/big.xml"] = Response(200, BIG, {"Content-Type": "application/rss+xml"})
    config = write_config(tmp_path, [{"id": "big", "name": "Big", "kind": "member",
                                      "url": feed_server.url("/big.xml")}],
                          store={"url": postgres_url}, queue={"broker": REDIS},
                          ingest={"parse_memory": "64MiB"})
    empty_postgres(postgres_url)
    ctx = context(str(config))
    pools: list[object] = []  # taken by the parse: a worker killed at the bound is
    # discarded at once, so "started" afterwards depends on how the worker died
    assert ctx.parsers is not None
    real = ctx.parsers._get
    ctx.parsers._get = lambda: (pools.append(real()), pools[-1])[1]
    try:
        assert ctx.settings == load_settings(config)
        ctx.store.apply([], [SourceState("big")])
        token = dict(ctx.store.claim(NOW, 10, timedelta(minutes=5)))["big"]
        assert fetch_source(ctx, "big", token, NOW) == "stored"
        state = ctx.store.source_state("big")
        assert state is not None and state.last_error is not None
        assert "memory" in state.last_error, state.last_error
        assert ctx.store.count(source_id="big") == 0
        assert len(pools) == 1  # parsed in its process, never inline
    finally:
        if ctx.parsers is not None:
            ctx.parsers.close()
        ctx.store.close()
        context.cache_clear()
