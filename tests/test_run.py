"""`aggregator run` as a real process: polls on schedule, publishes, serves, stops cleanly."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import FeedServer, http_sources, write_config
from support.atomcheck import assert_valid_atom

from aggregator.store import open_store

pytestmark = pytest.mark.slow  # the service as a process, for seconds

CATEGORIES = ["resilience", "migration", "mobility", "culture", "covid-recovery"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            data: bytes = resp.read()
            return data
    except OSError:
        return None


def wait_for(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_run_polls_publishes_serves_and_stops(tmp_path: Path, feed_server: FeedServer,
                                              stop_signal: signal.Signals) -> None:
    port = free_port()
    sources = http_sources(feed_server)
    assert sources[1]["id"] == "barcelona"
    sources[1]["interval"] = "1s"  # polled again every second (sousse's <ttl> would win)
    config = write_config(tmp_path, sources, serve={"host": "127.0.0.1", "port": port})
    proc = subprocess.Popen([sys.executable, "-m", "aggregator", "run", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}/"
    try:
        # status.json is written after the feeds and the page: wait for the whole publish
        wait_for(lambda: b'"state": "active"' in (get(base + "status.json") or b"")
                 and b"never polled" not in (get(base + "status.json") or b"never polled"))
        for name in ["all", *CATEGORIES, "uncategorized"]:
            assert_valid_atom(get(f"{base}{name}.atom") or b"")
        assert b"Sousse adopte son plan local" in (get(base) or b"")
        status = json.loads(get(base + "status.json") or b"{}")
        assert {s["state"] for s in status["sources"]} == {"active"}
        # the scheduler keeps polling barcelona, with conditional GETs
        wait_for(lambda: sum(p == "/barcelona-member-atom.xml" for p, _ in feed_server.requests)
                 >= 3, timeout=20)
        later = [h for p, h in feed_server.requests if p == "/barcelona-member-atom.xml"][1:]
        assert all(h.get("If-None-Match") for h in later)
        assert sum(p == "/sousse-member-rss2.xml" for p, _ in feed_server.requests) == 1
    finally:
        proc.send_signal(stop_signal)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "stopped" in err
    store = open_store(tmp_path / "data" / "store.json")  # valid, and the lock is released
    try:
        assert len(store.entries()) == 23
    finally:
        store.close()
