"""Changing a running service: operator commands while `run` runs, SIGHUP, --watch-config."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import FeedServer, http_sources, write_config
from test_cli import cli
from test_run import free_port, get, wait_for

pytestmark = pytest.mark.slow  # the service as a process

Service = tuple[subprocess.Popen[str], Path, str]
LOG = "service.log"


@pytest.fixture
def service(tmp_path: Path, feed_server: FeedServer) -> Iterator[Service]:
    port = free_port()
    config = write_config(tmp_path, http_sources(feed_server)[:3],
                          serve={"host": "127.0.0.1", "port": port},
                          poll={"interval": "2s", "timeout": "5s",  # ticks every 2 s
                                "allow_hosts": ["127.0.0.1"]})
    log = (tmp_path / LOG).open("w")
    proc = subprocess.Popen([sys.executable, "-m", "aggregator", "run", "--watch-config",
                             "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=log, text=True)
    base = f"http://127.0.0.1:{port}/"
    wait_for(lambda: b"never polled" not in (get(base + "status.json") or b"never polled"))
    try:
        yield proc, config, base
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def states(base: str) -> dict[str, str]:
    status = json.loads(get(base + "status.json") or b"{}")
    return {s["id"]: s["state"] for s in status.get("sources", [])}


def test_commands_while_the_service_runs(service: Service, feed_server: FeedServer) -> None:
    proc, config, base = service
    asked = len(feed_server.requests)
    polled = cli("poll", "--source", "barcelona", "--config", str(config))
    assert polled.returncode == 0, polled.stderr
    assert "the running service answered" in polled.stdout and "barcelona" in polled.stdout
    assert "  total: 1 sources, " in polled.stdout  # the lines of a direct poll, and its total
    assert len(feed_server.requests) > asked  # it really polled, now
    built = cli("build", "--config", str(config))
    assert built.returncode == 0 and "written by the running service" in built.stdout
    disabled = cli("sources", "disable", "durban", "--config", str(config))
    assert "reloaded its config" in disabled.stdout and "source changed: durban" in (
        disabled.stdout)
    wait_for(lambda: states(base).get("durban") == "disabled")
    enabled = cli("sources", "enable", "durban", "--config", str(config))
    assert enabled.returncode == 0 and "re-enabled by the running service" in enabled.stdout
    wait_for(lambda: states(base).get("durban") == "active")
    assert proc.poll() is None  # still running, never refused


def test_sighup_reloads_a_valid_config_and_keeps_the_old_on_errors(
        service: Service, feed_server: FeedServer) -> None:
    proc, config, base = service
    good = config.read_text()
    config.write_text(good.replace("sources:", "sources: [[[", 1))  # broken YAML
    proc.send_signal(signal.SIGHUP)
    extra = http_sources(feed_server)[3]
    wait_for(lambda: proc.poll() is not None or "config not reloaded" in _peek(config))
    assert proc.poll() is None  # SIGHUP no longer kills it
    doc = yaml.safe_load(good)
    doc["sources"].append(extra)
    config.write_text(yaml.safe_dump(doc, allow_unicode=True))
    proc.send_signal(signal.SIGHUP)
    wait_for(lambda: states(base).get(extra["id"]) == "active")
    assert f"source added: {extra['id']}" in _peek(config)


def _peek(config: Path) -> str:
    """The service's log so far."""
    return (config.parent / LOG).read_text()


def test_metrics_health_and_readiness(service: Service) -> None:
    _, _, base = service
    # the health gauges are set when the cycle's publish ends, after the polls are counted
    wait_for(lambda: b"aggregator_store_entries 9.0" in (get(base + "metrics") or b""))
    text = (get(base + "metrics") or b"").decode()
    assert 'aggregator_polls_total{outcome="updated"} 3.0' in text
    assert 'aggregator_sources{state="active"} 3.0' in text
    assert 'aggregator_entries_total{change="new"} 9.0' in text
    assert "aggregator_fetch_seconds_count 3.0" in text and "aggregator_store_entries 9.0" in text
    assert 'aggregator_http_responses_total{status="200"} 3.0' in text
    assert get(base + "healthz") == b"ok\n"
    wait_for(lambda: (get(base + "readyz") or b"").startswith(b"ok"))


def test_readiness_needs_a_recent_tick_and_a_readable_store() -> None:
    from aggregator.metrics import Metrics
    m = Metrics()
    assert m.ready(60) == (False, "no poll cycle completed yet\n")
    m.ticked()
    assert m.ready(60)[0] and not m.ready(-1)[0]
    m.health([], None)
    assert m.ready(60) == (False, "store unreadable\n")


def _readyz(base: str) -> str:
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(base + "readyz", timeout=5) as r:
            return str(r.read().decode())
    except urllib.error.HTTPError as e:
        return str(e.read().decode())


def test_a_lock_file_removed_under_run_is_taken_again(service: Service) -> None:
    import fcntl
    import os

    from aggregator.errors import StoreLocked
    from aggregator.store import open_store
    _, config, base = service
    store = config.parent / "data" / "store.json"
    lock = store.with_name("store.json.lock")
    lock.unlink()  # an operator "cleaning up"
    wait_for(lambda: lock.exists())  # the service made it again and took it
    with pytest.raises(StoreLocked):
        open_store(store)  # a concurrent poll is refused again
    while True:  # now another process gets a new lock file first and keeps it
        lock.unlink(missing_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            os.close(fd)
    try:
        wait_for(lambda: _readyz(base).startswith("not storing: the lock file"))
        status = cli("status", "--config", str(config))
        assert "warning: the running service is not storing: the lock file" in status.stderr
    finally:
        os.close(fd)  # it lets go: the service takes the lock again by itself
    wait_for(lambda: "not storing" not in _readyz(base))
    assert "storing again" in _peek(config)
    status = cli("status", "--config", str(config))
    assert "not storing" not in status.stderr


def test_takedown_and_purge_while_the_service_runs(service: Service) -> None:
    _, config, base = service
    listed = json.loads(cli("entries", "--json", "--config", str(config)).stdout)
    victim = listed[0]
    assert victim["title"].encode() in (get(base + "all.atom") or b"")
    removed = cli("entries", "remove", victim["link"], "--config", str(config))
    assert removed.returncode == 0, removed.stderr
    assert "the running service answered" in removed.stdout and victim["key"] in removed.stdout
    assert victim["title"].encode() not in (get(base + "all.atom") or b"")
    assert b"taken down by an operator" in (get(base + "status.atom") or b"")
    purged = cli("sources", "remove", "durban", "--purge", "--config", str(config))
    assert purged.returncode == 0 and "durban: 3 entries removed" in purged.stdout, purged
    left = json.loads(cli("entries", "--json", "--config", str(config)).stdout)
    assert "durban" not in {e["source"] for e in left}
    assert get(base + "source/durban.html") is None


def test_per_source_metrics(service: Service) -> None:
    _, _, base = service
    wait_for(lambda: b'aggregator_source_entries{source="durban"} 3.0' in (
        get(base + "metrics") or b""))
    text = (get(base + "metrics") or b"").decode()
    assert 'aggregator_source_state{source="durban",state="active"} 1.0' in text
    assert 'aggregator_source_failures{source="barcelona"} 0.0' in text
    assert 'aggregator_source_fetch_seconds{source="sousse"}' in text


def test_per_source_series_are_bounded_and_follow_the_config() -> None:
    from aggregator.metrics import MAX_SOURCE_SERIES, Metrics
    from aggregator.models import SourceHealth

    def health(i: int, state: str = "active") -> SourceHealth:
        return SourceHealth(f"s{i}", f"S{i}", "member", "u", state, None, None, None, 0,
                            None, None, 3)
    m = Metrics()
    m.health([health(i) for i in range(MAX_SOURCE_SERIES + 50)], 10)
    text = m.render().decode()
    assert text.count("aggregator_source_entries{") == MAX_SOURCE_SERIES
    m.health([health(0, "gone")], 3)  # the others left the config; s0 changed state
    text = m.render().decode()
    assert text.count("aggregator_source_entries{") == 1
    assert 'aggregator_source_state{source="s0",state="gone"} 1.0' in text
    assert 'state="active"}' not in text.split("aggregator_source_state")[-1]


def test_sources_add_polls_the_new_source_at_once(service: Service,
                                                  feed_server: FeedServer) -> None:
    from conftest import EXAMPLES
    _, config, _ = service
    url = feed_server.serve_file("/montreal.xml", EXAMPLES / "montreal-member-atom.xml")
    added = cli("sources", "add", url, "--id", "montreal", "--config", str(config))
    assert added.returncode == 0, added.stderr
    assert "source montreal added" in added.stdout
    # polled by the service now (or a moment before, when --watch-config saw the change)
    assert "the running service answered:\n  montreal  " in added.stdout
    listed = cli("entries", "--source", "montreal", "--count", "--config", str(config))
    assert listed.stdout.strip() == "3"


def test_poll_json_through_the_service_and_phase_metrics(service: Service) -> None:
    _, config, base = service
    polled = cli("poll", "--json", "--source", "durban", "--config", str(config))
    doc = json.loads(polled.stdout)
    assert [s["id"] for s in doc["sources"]] == ["durban"] and doc["timings"]["update_s"] > 0
    text = (get(base + "metrics") or b"").decode()
    assert 'aggregator_cycle_phase_seconds{phase="update"}' in text
    assert 'aggregator_cycle_phase_seconds{phase="publish"}' in text
    status = json.loads(get(base + "status.json") or b"{}")
    assert {"update_s", "publish_s"} <= set(status["timings"])  # the service's last cycle
