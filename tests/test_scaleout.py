"""Scale-out on real parts: PostgreSQL and Redis on this machine, the scheduler and two
Celery workers as processes, one of them killed with SIGKILL mid-run. The result must be
the store a single node makes of the same feeds, with no feed fetched twice but those the
killed worker was fetching."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import empty_postgres

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import feed_network  # noqa: E402

from aggregator import Aggregator  # noqa: E402
from aggregator.config import load_settings  # noqa: E402
from aggregator.models import StoredEntry  # noqa: E402
from aggregator.store.postgres import PostgresStore  # noqa: E402

pytestmark = pytest.mark.slow
FEEDS = 200
REDIS = "redis://127.0.0.1:6379/15"  # a database of its own, flushed by the test
CONCURRENCY = 2


@pytest.fixture
def redis_db() -> Iterator[str]:
    import redis
    client = redis.Redis.from_url(REDIS)
    try:
        client.ping()
    except redis.ConnectionError as e:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not running on 127.0.0.1:6379 ({e})")
        pytest.skip(f"Redis is not running on 127.0.0.1:6379 ({e})")
    client.flushdb()
    yield REDIS
    client.flushdb()


def write(folder: Path, urls: list[str], store: dict[str, str], **more: Any) -> Path:
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config["store"] = store
    config["output"] = {"dir": str(folder / "feeds"), "entries_per_feed": 50}
    config["poll"].update({"allow_hosts": ["127.0.0.1"], "workers": 4, "per_host": 4})
    config["sources"] = [{"id": f"s{i:03d}", "name": f"Source {i}", "url": u,
                          "kind": "partner" if i >= FEEDS - 12 else "member"}
                         for i, u in enumerate(urls)]
    config.update(more)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return path


def wait_until(check: Callable[[], bool], timeout: float, what: str,
               logs: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            tails = "".join(f"\n--- {p.name}\n" + p.read_text(errors="replace")[-1500:]
                            for p in sorted(logs.glob("*.log"))) if logs else ""
            raise AssertionError(f"timed out waiting for {what}{tails}")
        time.sleep(0.2)


def stories(entries: list[StoredEntry]) -> set[frozenset[str]]:
    """The stories as sets of entry keys (which copy is the primary may differ)."""
    by_story: dict[str, set[str]] = {}
    for e in entries:
        by_story.setdefault(e.story or e.key, set()).add(e.key)
    return {frozenset(keys) for keys in by_story.values()}


def scaled_network(folder: Path, feeds: int, postgres_url: str, redis_db: str, lease: str
                   ) -> tuple[feed_network.Network, Any, list[str], Path]:
    """A fresh store, ``feeds`` local feeds served from 127.0.0.1, and a scale-out config
    (PostgreSQL store, Redis broker) polling them: (network, server, urls, config)."""
    empty_postgres(postgres_url)
    network = feed_network.Network(feeds)
    server = feed_network.serve(network)
    base = f"http://127.0.0.1:{server.server_address[1]}/feeds/"
    urls = [base + name for name in sorted(network.feeds)]
    (folder / "out").mkdir()
    config = write(folder / "out", urls, {"url": postgres_url},
                   queue={"broker": redis_db, "lease": lease})
    return network, server, urls, config


def test_two_workers_and_a_scheduler_store_what_one_node_stores(
        tmp_path: Path, postgres_url: str, redis_db: str) -> None:
    network, server, urls, config = scaled_network(tmp_path, FEEDS, postgres_url, redis_db,
                                                   "20s")
    env = {**os.environ, "AGGREGATOR_CONFIG": str(config)}
    cli = [sys.executable, "-m", "aggregator"]
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{len(started)}-{args[0]}.log").open("wb") as log:
            process = subprocess.Popen([*cli, *args, "--config", str(config)], env=env,
                                       stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)  # its own group: killed whole
        started.append(process)
        return process

    store = PostgresStore(postgres_url)
    polled = lambda: sum(1 for s in store.source_states().values()  # noqa: E731
                         if s.last_success is not None)
    try:
        doomed = start("worker", f"--concurrency={CONCURRENCY}")
        start("worker", f"--concurrency={CONCURRENCY}")
        start("scheduler")
        wait_until(lambda: polled() >= FEEDS // 4, 120, "a quarter of the sources", tmp_path)
        os.killpg(doomed.pid, signal.SIGKILL)  # a worker machine dies mid-run
        doomed.wait(timeout=10)
        wait_until(lambda: polled() == FEEDS, 240, "every source, after the lease",
                   tmp_path)
        wait_until(lambda: not store.dirty() and (tmp_path / "out/feeds/all.atom").exists(),
                   60, "the publish task", tmp_path)
        scaled = store.entries(include_duplicates=True)
        # the operator's commands read the same store from any machine while workers run
        count = subprocess.run([*cli, "entries", "--count", "--config", str(config)],
                               capture_output=True, text=True, timeout=60, env=env)
        assert count.stdout.strip() == str(store.count()), count.stderr
        status = subprocess.run([*cli, "status", "--json", "--config", str(config)],
                                capture_output=True, text=True, timeout=60, env=env)
        assert status.returncode == 0 and len(json.loads(status.stdout)) == FEEDS
    finally:
        for process in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
        store.close()
    fetched = dict(network.fetched)
    # the same feeds, polled once by a single node (TinyDB, in this process)
    single = write(tmp_path, urls, {"path": str(tmp_path / "single.json")})
    with Aggregator(load_settings(single), parse_processes=0) as agg:
        agg.update()
        alone = agg.entries(include_duplicates=True)
    server.shutdown()
    assert len(scaled) == len(alone) > FEEDS
    assert {e.key for e in scaled} == {e.key for e in alone}
    assert stories(scaled) == stories(alone)
    assert {e.key: e.content_hash for e in scaled} == {e.key: e.content_hash for e in alone}
    # every feed fetched once by the workers (once more by the single node), except those
    # the killed worker was fetching: fetched again when their lease ended
    twice = [name for name, n in fetched.items() if n - 1 >= 2]
    assert len(fetched) == FEEDS and all(n - 1 <= 2 for n in fetched.values())
    assert len(twice) <= CONCURRENCY


REDIS_START = ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port",
               "6379", "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
               "--logfile", "/var/log/redis/ci.log"]  # as the machine starts it (.ci/run)


def restart_redis() -> None:
    """Stop Redis (it keeps nothing on disk: every queued message is lost) and start it."""
    import redis
    client = redis.Redis.from_url(REDIS)
    with contextlib.suppress(redis.ConnectionError):  # the connection closes as it stops
        client.shutdown(nosave=True)
    subprocess.run(REDIS_START, check=True, timeout=30, capture_output=True)
    wait_until(lambda: _pings(client), 30, "Redis back")


def _pings(client: Any) -> bool:
    import redis
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def test_a_redis_restart_loses_no_source(tmp_path: Path, postgres_url: str,
                                         redis_db: str) -> None:
    """Redis goes away mid-run with tasks queued; every source is still polled once the
    leases end, and nothing is stored twice."""
    if os.geteuid() != 0:
        pytest.skip("restarting this machine's Redis needs root (CI runs as root)")
    _, server, urls, config = scaled_network(tmp_path, 120, postgres_url, redis_db, "15s")
    env = {**os.environ, "AGGREGATOR_CONFIG": str(config)}
    started = [subprocess.Popen([sys.executable, "-m", "aggregator", *args, "--config",
                                 str(config)], env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for args in (["worker", "--concurrency=1"], ["scheduler"])]
    store = PostgresStore(postgres_url)
    polled = lambda: sum(1 for s in store.source_states().values()  # noqa: E731
                         if s.last_success is not None)
    try:
        wait_until(lambda: polled() >= 10, 120, "the first sources")
        restart_redis()  # the queued fetch tasks are gone with it
        wait_until(lambda: polled() == len(urls), 240, "every source after the restart")
        keys = [e.key for e in store.entries(include_duplicates=True)]
    finally:
        for process in started:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        store.close()
    assert len(keys) == len(set(keys))
    assert set(keys) == single_node(tmp_path, urls)
    server.shutdown()


def single_node(folder: Path, urls: list[str]) -> set[str]:
    """The entry keys one node (TinyDB, in this process) stores from the same feeds."""
    config = write(folder, urls, {"path": str(folder / "single.json")})
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.update()
        return {e.key for e in agg.entries(include_duplicates=True)}
