"""Scale-out measured on this machine's PostgreSQL and Redis (docs/scale-out.md, sizing).

    .venv/bin/python benchmarks/scaleout_sim.py [--sources 10000 100000 250000]
                                                [--workers 1 2 4] [--feeds 400]

1. The sweep: N sources in the sources table, all due. The scheduler's claim (SKIP LOCKED,
   lease, token; 500 per statement) is timed until every source is claimed, by one
   claimer and by four at once; then one claim on a table where nothing is due (the cost
   of a tick while all is quiet) as N grows.
2. Workers: FEEDS local feeds (benchmarks/feed_network.py, a look-alike network) polled
   cold by the real `aggregator scheduler` and 1, 2, 4 `aggregator worker --concurrency 1`
   processes; sources stored per second as workers are added (2 cores here).

A fresh database is made and dropped; Redis database 14 is flushed before and after.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

import feed_network  # noqa: E402
import redis  # noqa: E402
import yaml  # noqa: E402

from aggregator.store.migrate import upgrade  # noqa: E402
from aggregator.store.postgres import PostgresStore  # noqa: E402

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BROKER = "redis://127.0.0.1:6379/14"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def fill(url: str, count: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE sources")
        with conn.cursor().copy("COPY sources (source_id, next_check_at, gone, doc) "
                                "FROM STDIN") as copy:
            for i in range(count):
                sid = f"s{i:06d}"
                copy.write_row((sid, None, False, f'{{"source_id": "{sid}"}}'))
        conn.execute("ANALYZE sources")


def sweep(url: str, claimers: int) -> float:
    """Seconds for ``claimers`` threads to claim every due source, 500 at a time."""
    stores = [PostgresStore(url) for _ in range(claimers)]
    claimed = [0] * claimers

    def claim(i: int) -> None:
        while batch := stores[i].claim(NOW, 500, LEASE):
            claimed[i] += len(batch)

    started = time.perf_counter()
    threads = [threading.Thread(target=claim, args=(i,)) for i in range(claimers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    for s in stores:
        s.close()
    return elapsed


def quiet_tick(url: str) -> float:
    store = PostgresStore(url)
    started = time.perf_counter()
    for _ in range(20):
        assert store.claim(NOW, 500, LEASE) == []  # everything is leased: nothing due
    store.close()
    return (time.perf_counter() - started) / 20


def workers_run(url: str, processes: int, feeds: int, folder: Path) -> tuple[float, int]:
    """Seconds until every local feed was polled and stored, and the entries stored."""
    network = feed_network.Network(feeds)
    server = feed_network.serve(network)
    base = f"http://127.0.0.1:{server.server_address[1]}/feeds/"
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config["store"] = {"url": url}
    config["queue"] = {"broker": BROKER, "lease": "5m"}
    config["output"] = {"dir": str(folder / "feeds"), "entries_per_feed": 50}
    config["poll"].update({"allow_hosts": ["127.0.0.1"], "per_host": 64})
    config["sources"] = [{"id": f"f{i:04d}", "name": f"Feed {i}", "url": base + name}
                         for i, name in enumerate(sorted(network.feeds))]
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE entries, sources, tombstones, events, dirty")
    redis.Redis.from_url(BROKER).flushdb()
    env = {**os.environ, "AGGREGATOR_CONFIG": str(path)}
    cli = [sys.executable, "-m", "aggregator"]
    running = [subprocess.Popen([*cli, "worker", "--concurrency=1", "-q", "--config",
                                 str(path)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for _ in range(processes)]
    store = PostgresStore(url)
    time.sleep(3)  # the workers connect to the broker before the clock starts
    started = time.perf_counter()
    running.append(subprocess.Popen([*cli, "scheduler", "-q", "--config", str(path)], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    while sum(s.last_success is not None for s in store.source_states().values()) < feeds:
        time.sleep(0.25)
    elapsed = time.perf_counter() - started
    entries = store.count()
    for p in running:
        p.terminate()
    for p in running:
        p.wait(timeout=60)
    store.close()
    server.shutdown()
    return elapsed, entries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, nargs="*", default=[10_000, 100_000, 250_000])
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--feeds", type=int, default=400)
    args = parser.parse_args()
    name = f"aggregator_sim_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        url = ADMIN.rsplit("/", 1)[0] + f"/{name}"
        try:
            upgrade(url)
            server = psycopg.connect(url).info.server_version
            print(f"python {platform.python_version()}, PostgreSQL {server}, "
                  f"{os.cpu_count()} cores, {platform.machine()}")
            print(f"{'sources':>8} | {'1 claimer/s':>11} {'4 claimers/s':>12} | "
                  f"{'quiet tick ms':>13}")
            for count in args.sources:
                fill(url, count)
                one = sweep(url, 1)
                fill(url, count)
                four = sweep(url, 4)
                tick = quiet_tick(url)
                print(f"{count:>8} | {count / one:>11,.0f} {count / four:>12,.0f} | "
                      f"{tick * 1000:>13.1f}", flush=True)
            print(f"\n{args.feeds} local feeds, cold, scheduler + N workers (--concurrency 1)")
            print(f"{'workers':>7} | {'seconds':>7} {'sources/s':>9} {'entries':>8}")
            import tempfile
            for n in args.workers:
                with tempfile.TemporaryDirectory() as tmp:
                    elapsed, entries = workers_run(url, n, args.feeds, Path(tmp))
                print(f"{n:>7} | {elapsed:>7.1f} {args.feeds / elapsed:>9.1f} {entries:>8}",
                      flush=True)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            redis.Redis.from_url(BROKER).flushdb()


if __name__ == "__main__":
    main()
