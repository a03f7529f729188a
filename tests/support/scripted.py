"""A scripted HTTP/1.1 server on a loopback address, for the fetch policy tests.

Each path maps to a handler: a Response, or a function that writes to the socket itself
(trickles, short bodies, bombs). The server records every request with the client's port
(to count connections) and the highest number of requests in flight at once.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from support.http import Loopback


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    client_port: int
    at: float


Handler = Callable[[BaseHTTPRequestHandler], None]


class ScriptedServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Reply | Handler | list[Reply]] = {}
        self.seen: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.connections = 0
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with server._lock:
                    server.connections += 1

            def do_GET(self) -> None:
                server._enter(self)
                try:
                    server._answer(self)
                finally:
                    server._leave()

            def log_message(self, *args: Any) -> None:
                pass

        self.loopback = Loopback(_Handler, host)
        self.httpd = self.loopback.httpd

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.httpd.server_address[0]}:{self.port}{path}"

    def hits(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def _enter(self, h: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.seen.append(Seen(h.path, dict(h.headers), h.client_address[1], time.monotonic()))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _answer(self, h: BaseHTTPRequestHandler) -> None:
        route = self.routes.get(h.path, Reply(404, b"not found"))
        if isinstance(route, list):  # one reply per request, the last one repeats
            route = route.pop(0) if len(route) > 1 else route[0]
        if callable(route):
            route(h)
            return
        time.sleep(route.delay)
        etag = route.headers.get("ETag")
        if route.status == 200 and etag and h.headers.get("If-None-Match") == etag:
            route = Reply(304, b"", {"ETag": etag})
        h.send_response(route.status)
        for k, v in route.headers.items():
            h.send_header(k, v)
        if "Content-Length" not in route.headers:
            h.send_header("Content-Length", str(len(route.body)))
        h.end_headers()
        h.wfile.write(route.body)

    def close(self) -> None:
        self.loopback.close()


def trickle(body: bytes, every: float) -> Handler:
    """Headers at once, then the body one byte every ``every`` seconds."""
    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.flush()
        try:
            for byte in body:
                h.wfile.write(bytes([byte]))
                h.wfile.flush()
                time.sleep(every)
        except OSError:
            pass  # the client hung up: what the test wants
        h.close_connection = True
    return handler


def trickle_unsized(body: bytes, every: float) -> Handler:
    """No Content-Length, no chunking (the body ends when the connection closes), sent one
    byte every ``every`` seconds."""
    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.flush()
        with contextlib.suppress(OSError):  # the client hung up: what the test wants
            for byte in body:
                h.wfile.write(bytes([byte]))
                h.wfile.flush()
                time.sleep(every)
        h.close_connection = True
    return handler


def short_body(body: bytes, declared: int) -> Handler:
    """Declares ``declared`` bytes, sends ``body``, closes."""
    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Content-Length", str(declared))
        h.end_headers()
        h.wfile.write(body)
        h.wfile.flush()
        h.close_connection = True
    return handler


def unsized(body: bytes, headers: dict[str, str] | None = None) -> Handler:
    """No Content-Length: the body ends when the connection closes."""
    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Connection", "close")
        h.end_headers()
        with contextlib.suppress(OSError):  # the client may hang up at its cap
            h.wfile.write(body)
        h.close_connection = True
    return handler
