"""The PostgreSQL store beyond the shared contract (test_store.py runs that): migrations,
claims, fenced writes, clear errors, and story resolution raced by concurrent workers."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from conftest import PG_ADMIN, FeedServer, Response, empty_postgres, write_config

from aggregator.config import load_settings
from aggregator.errors import ClaimLost, StoreError
from aggregator.models import SourceState
from aggregator.run.celery.tasks import Context, fetch_source
from aggregator.run.hosts import HostGate
from aggregator.store.migrate import latest_version, upgrade
from aggregator.store.postgres import PostgresStore

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.fixture
def pg(postgres_url: str) -> Iterator[PostgresStore]:
    empty_postgres(postgres_url)
    store = PostgresStore(postgres_url)
    yield store
    store.close()


@pytest.fixture
def blank_database(postgres_url: str) -> Iterator[str]:
    name = f"aggregator_blank_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_db_upgrade_creates_then_has_nothing_to_do(tmp_path: Path, blank_database: str
                                                   ) -> None:
    config = write_config(tmp_path, [], store={"url": blank_database})
    with pytest.raises(StoreError, match="aggregator db upgrade"):
        PostgresStore(blank_database)  # no schema yet: the error says what to run
    cli = [sys.executable, "-m", "aggregator", "db", "upgrade", "--config", str(config)]
    first = subprocess.run(cli, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0 and "applied 001_initial.sql" in first.stdout, first.stderr
    again = subprocess.run(cli, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "applied" not in again.stdout
    assert f"schema at version {latest_version()}" in again.stdout
    assert upgrade(blank_database) == []
    PostgresStore(blank_database).close()


@pytest.mark.slow  # the connection pool tries for 10 s, twice
def test_unreachable_postgresql_is_a_clear_error(tmp_path: Path) -> None:
    url = "postgresql://postgres@127.0.0.1:1/nowhere"
    with pytest.raises(StoreError, match=r"cannot reach PostgreSQL at postgresql://"):
        PostgresStore(url)
    config = write_config(tmp_path, [], store={"url": url})
    done = subprocess.run([sys.executable, "-m", "aggregator", "status", "--config",
                           str(config)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "cannot reach PostgreSQL" in done.stderr


def test_claims_never_overlap_and_come_back_after_the_lease(pg: PostgresStore) -> None:
    pg.apply([], [SourceState(f"s{i:03d}") for i in range(300)])
    claims: list[list[tuple[str, str]]] = []
    barrier = threading.Barrier(6)

    def claimer() -> None:
        barrier.wait()
        claims.append(pg.claim(NOW, 80, timedelta(minutes=5)))

    threads = [threading.Thread(target=claimer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = [sid for batch in claims for sid, _ in batch]
    assert len(got) == len(set(got)) == 300  # every source once, by exactly one claimer
    assert pg.claim(NOW + timedelta(minutes=4), 500, timedelta(minutes=5)) == []
    again = pg.claim(NOW + timedelta(minutes=5), 500, timedelta(minutes=5))
    assert len(again) == 300  # a dead claimer's sources are due again after the lease


def test_a_fenced_write_stores_only_under_its_claim(pg: PostgresStore) -> None:
    pg.apply([], [SourceState("a")])
    [(_, old)] = pg.claim(NOW, 1, timedelta(seconds=30))
    [(_, new)] = pg.claim(NOW + timedelta(seconds=31), 1, timedelta(seconds=30))
    with pytest.raises(ClaimLost):
        pg.apply([], [SourceState("a", failures=7)], fence={"a": old})
    state = pg.source_state("a")
    assert state is not None and state.failures == 0
    pg.apply([], [SourceState("a", failures=1)], fence={"a": new})
    assert pg.source_state("a").failures == 1  # type: ignore[union-attr]
    assert not pg.holds("a", new)  # stored: the claim is spent


STORY = """<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>
<link>https://{host}/</link><item><title>{topic}</title>
<link>https://lisboa.example/news/cooling-{n}</link><guid>https://{host}/story-{n}</guid>
<pubDate>Mon, 14 Jun 2021 09:30:00 +0000</pubDate>
<description>{topic}: what the council decided, and when.</description></item>
</channel></rss>"""


TOPICS = ["Cooling centres open in twelve parishes", "New tram line to the airport approved",
          "Flood barriers tested along the river", "Night buses return on weekends",
          "Library cards now free for newcomers", "Rooftop gardens grant doubles",
          "School meals go local and organic", "Harbour cleanup collects nine tonnes",
          "Heritage market reopens after repairs", "Cycle lanes link three districts",
          "Youth council holds first vote", "Street lighting switches to LED"]


def test_two_workers_storing_one_story_at_once_make_one_story(
        tmp_path: Path, postgres_url: str, feed_server: FeedServer) -> None:
    """The same story from a member and a partner, stored by two workers at the same moment,
    many times over: always one story (the advisory lock around plan + apply)."""
    import redis
    rounds = len(TOPICS)
    sources = []
    for who, host in (("lisboa", "lisboa.example"), ("partner", "partner.example")):
        for n in range(rounds):
            path = f"/{who}-{n}.xml"
            feed_server.routes[path] = Response(200, STORY.format(
                name=who, host=host, n=n, topic=TOPICS[n]).encode(),
                {"Content-Type": "application/rss+xml"})
            sources.append({"id": f"{who}-{n}", "name": who, "url": feed_server.url(path),
                            "kind": "member" if who == "lisboa" else "partner"})
    config = write_config(tmp_path, sources, store={"url": postgres_url})
    settings = load_settings(config)
    empty_postgres(postgres_url)
    contexts = []
    for _ in range(2):  # two workers, each with its own pool and session
        from aggregator.config.taxonomy import Taxonomy
        from aggregator.ingest.fetch import Fetcher
        from aggregator.ingest.language import LanguageChooser
        from aggregator.ingest.parse.feedparser_path import parse_feed
        from aggregator.ingest.source import Tools
        tools = Tools(settings, Fetcher.create(settings), parse_feed,
                      Taxonomy(settings.categories), LanguageChooser(("en",), "en"))
        gate = HostGate(redis.Redis.from_url("redis://127.0.0.1:6379/15"), 8,
                        prefix=f"race-{uuid.uuid4().hex}")
        contexts.append(Context(settings, PostgresStore(postgres_url), tools, gate))
    store = contexts[0].store
    store.apply([], [SourceState(s["id"]) for s in sources])
    for n in range(rounds):
        tokens = dict(store.claim(NOW, 100, timedelta(minutes=5)))
        barrier = threading.Barrier(2)
        done: list[str] = []

        def work(ctx: Context, source: str, barrier: threading.Barrier = barrier,
                 done: list[str] = done, tokens: dict[str, str] = tokens) -> None:
            barrier.wait()
            done.append(fetch_source(ctx, source, tokens[source], NOW))

        pair = [threading.Thread(target=work, args=(ctx, f"{who}-{n}"))
                for ctx, who in zip(contexts, ("lisboa", "partner"), strict=True)]
        for t in pair:
            t.start()
        for t in pair:
            t.join()
        assert done == ["stored", "stored"]
        stored = [e for e in store.entries(include_duplicates=True)
                  if e.link and e.link.endswith(f"cooling-{n}")]
        assert len(stored) == 2 and len({e.story for e in stored}) == 1, n
        assert sum(e.duplicate_of is None for e in stored) == 1
        # back to due for the next round's claim
        store.apply([], [SourceState(s["id"]) for s in sources
                         if not s["id"].endswith(f"-{n}")])
    for ctx in contexts:
        ctx.store.close()


def test_host_slots_and_holds_are_shared_in_redis() -> None:
    """Two workers' gates over one Redis: per_host slots in all, and one Retry-After hold."""
    import redis
    client = redis.Redis.from_url("redis://127.0.0.1:6379/13")
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    prefix = f"gate-{uuid.uuid4().hex}"
    now = datetime.now(UTC)  # holds expire in Redis by the real clock
    one, two = (HostGate(redis.Redis.from_url("redis://127.0.0.1:6379/13"), 2, prefix)
                for _ in range(2))
    assert one.acquire("lyon.example") and two.acquire("lyon.example")
    assert not one.acquire("lyon.example") and not two.acquire("lyon.example")
    assert one.acquire("quito.example")  # another host has its own slots
    two.release("lyon.example")
    assert one.acquire("lyon.example")
    assert two.held_until("lyon.example", now) is None
    one.hold("lyon.example", now + timedelta(minutes=10))
    assert two.held_until("lyon.example", now) == now + timedelta(minutes=10)
    two.hold("lyon.example", now + timedelta(minutes=5))  # an earlier end does not shorten it
    assert one.held_until("lyon.example", now) == now + timedelta(minutes=10)
    assert one.held_until("lyon.example", now + timedelta(minutes=11)) is None
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
