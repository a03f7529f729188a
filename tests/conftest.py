"""Shared fixtures: a scripted HTTP server on 127.0.0.1 and config files written to tmp dirs."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.http import Loopback

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DATA = Path(__file__).resolve().parent / "data"

SHIPPED_SOURCES = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))["sources"]


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class FeedServer:
    """A threaded HTTP server whose answers each test scripts per path."""

    def __init__(self, port: int = 0) -> None:
        self.routes: dict[str, Response] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.requests.append((self.path, dict(self.headers)))
                r = server.routes.get(self.path, Response(404, b"not found"))
                if r.status == 200 and "ETag" in r.headers and \
                        self.headers.get("If-None-Match") == r.headers["ETag"]:
                    r = Response(304, b"", {"ETag": r.headers["ETag"]})
                self.send_response(r.status)
                for k, v in r.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(r.body)))
                self.end_headers()
                self.wfile.write(r.body)

            def do_POST(self) -> None:  # a WebSub hub, say: the form is read, then answered
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.do_GET()

            def log_message(self, *args: Any) -> None:
                pass

        self.loopback = Loopback(Handler, port=port)
        self.httpd = self.loopback.httpd

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def serve_file(self, path: str, file: Path, content_type: str = "application/xml",
                   etag: str | None = None) -> str:
        headers = {"Content-Type": content_type}
        if etag:
            headers["ETag"] = etag
        self.routes[path] = Response(200, file.read_bytes(), headers)
        return self.url(path)

    def close(self) -> None:
        self.loopback.close()


PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"  # this machine's (trust auth)
PG_TABLES = "entries, sources, tombstones, events, dirty"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database for this test run (this xdist worker), migrated, dropped at the end."""
    import uuid

    import psycopg

    from aggregator.store.migrate import upgrade
    name = f"aggregator_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as e:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not running on 127.0.0.1:5432 ({e})")
        pytest.skip(f"PostgreSQL is not running on 127.0.0.1:5432 ({e})")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
        try:
            upgrade(url)
            yield url
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def empty_postgres(url: str) -> None:
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {PG_TABLES} RESTART IDENTITY")
        conn.execute("UPDATE counters SET value = 0")


@pytest.fixture(params=["memory", "tinydb", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Each Store backend in turn, for the contract tests (nothing of one pinned)."""
    from aggregator.store import open_store

    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        empty_postgres(url)
        opened = open_store(None, url=url)
    else:
        opened = open_store(None if request.param == "memory" else tmp_path / "store.json")
    yield opened
    opened.close()


@pytest.fixture
def server() -> Iterator[Any]:
    """A scripted HTTP server on 127.0.0.1 (tests/support/scripted.py: replies set per test)."""
    from support.scripted import ScriptedServer  # scripted.py imports this module

    scripted = ScriptedServer()
    yield scripted
    scripted.close()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.close()


def shipped_categories() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = yaml.safe_load(
        (ROOT / "config.yaml").read_text(encoding="utf-8"))["categories"]
    return data


def dead_pid() -> int:
    """The pid of a process that has just ended (a writer killed mid-write)."""
    from aggregator.files import pid_alive
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(done.stdout)
    assert not pid_alive(pid)
    return pid


def write_config(directory: Path, sources: list[dict[str, Any]], **overrides: Any) -> Path:
    """A config.yaml in ``directory`` with the shipped categories and the given sources."""
    config: dict[str, Any] = {
        "hub": {"title": "Test hub", "base_url": "http://127.0.0.1:8080/",
                "id": "tag:hub.test,2026:", "languages": ["en", "fr", "es"],
                "contact": "mailto:test@example.org"},
        "store": {"path": "data/store.json"},
        "output": {"dir": "feeds", "entries_per_feed": 50},
        "poll": {"interval": "1h", "workers": 4, "per_host": 2, "timeout": "5s",
                 "allow_hosts": ["127.0.0.1"]},
        "categories": shipped_categories(),
        "sources": sources,
    }
    for key, value in overrides.items():
        config[key] = value
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


def http_sources(server: FeedServer) -> list[dict[str, Any]]:
    """The shipped example sources, served over HTTP by ``server`` instead of as files."""
    out = []
    for s in SHIPPED_SOURCES:
        name = Path(s["path"]).name
        url = server.serve_file(f"/{name}", EXAMPLES / name, etag=f'"{name}-v1"')
        out.append({k: v for k, v in s.items() if k != "path"} | {"url": url})
    return out


@pytest.fixture
def examples_dir(tmp_path: Path) -> Path:
    """A tmp dir holding a copy of examples/, for configs with `path:` sources."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    return tmp_path


# -- no test may open a connection outside loopback ---------------------------------------------

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class OutsideLoopback(ConnectionRefusedError):
    """Raised by the test harness instead of sending a packet off this machine."""


def _loopback(address: object) -> bool:
    if not isinstance(address, tuple):
        return True  # unix sockets (the process pool's forkserver)
    try:
        return ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def connect_attempts(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every test runs with socket.connect refusing (and recording) non-loopback targets."""
    attempts: list[object] = []

    def connect(self: socket.socket, address: object) -> None:
        if not _loopback(address):
            attempts.append(address)
            raise OutsideLoopback(f"test harness: refused connect to {address}")
        _real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        if not _loopback(address):
            attempts.append(address)
            raise OutsideLoopback(f"test harness: refused connect to {address}")
        return int(_real_connect_ex(self, address))

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return attempts


def wait_for_http(url: str, timeout: float = 10.0) -> None:
    """Wait until something answers HTTP at ``url`` (a server the test just started)."""
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # it answered, even if not with 200
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered at {url} within {timeout:g}s")
