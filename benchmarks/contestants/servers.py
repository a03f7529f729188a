"""The servers the built-in one is measured against (benchmarks/bench_server.py).

- ``threads``: the server as it was before issue 29: a thread per request, at most 64,
  each reading its own request from the socket under a reaper's whole-request deadline.
- ``waitress``: waitress's channel model (an asyncore loop reads requests whole, a pool
  of 4 threads answers them) around a WSGI app that serves the same directory.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aggregator.server import OutputHandler
from aggregator.server.handler import accepts_gzip, resolve

MAX_THREADS = 64
REAP_EVERY = 0.25


class ThreadHandler(OutputHandler):
    """The handler as the thread-per-request server drove it: reading from the socket."""

    protocol_version = "HTTP/1.0"

    def parse_request(self) -> bool:
        ok = super().parse_request()
        self.server.request_read(self.connection)  # type: ignore[attr-defined]
        return ok

    def handle(self) -> None:
        self.server.reading(self.connection, self.timeout)  # type: ignore[attr-defined]
        try:
            super().handle()
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        finally:
            self.server.request_read(self.connection)  # type: ignore[attr-defined]


class BoundedThreads(ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._slots = threading.BoundedSemaphore(MAX_THREADS)
        self._reading: dict[socket.socket, float] = {}
        self._reading_lock = threading.Lock()
        self._closed = threading.Event()
        super().__init__(*args, **kwargs)
        threading.Thread(target=self._reap, daemon=True).start()

    def server_close(self) -> None:
        self._closed.set()
        super().server_close()

    def reading(self, conn: socket.socket, seconds: float | None) -> None:
        if seconds is not None:
            with self._reading_lock:
                self._reading[conn] = time.monotonic() + seconds

    def request_read(self, conn: socket.socket) -> None:
        with self._reading_lock:
            self._reading.pop(conn, None)

    def _reap(self) -> None:
        while not self._closed.wait(REAP_EVERY):
            now = time.monotonic()
            with self._reading_lock:
                late = [c for c, until in self._reading.items() if until < now]
                for conn in late:
                    del self._reading[conn]
            for conn in late:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._slots.acquire()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def threads(root: Path, timeout: float) -> BoundedThreads:
    handler = type("Bound", (ThreadHandler,), {"root": root, "timeout": timeout,
                                               "endpoints": {"/healthz": _healthz}})
    return BoundedThreads(("127.0.0.1", 0), handler)


def _healthz() -> tuple[int, str, bytes]:
    return 200, "text/plain; charset=utf-8", b"ok\n"


class Waitress:
    """waitress.create_server with the socketserver-like surface the benchmark drives."""

    def __init__(self, root: Path, timeout: float) -> None:
        import waitress.server
        self.server = waitress.server.create_server(
            _wsgi(root), host="127.0.0.1", port=0, threads=4, connection_limit=1000,
            channel_timeout=int(timeout), backlog=1024, max_request_body_size=10 * 2**20)
        self.server_address = ("127.0.0.1", self.server.effective_port)

    def serve_forever(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.server.run()

    def shutdown(self) -> None:
        pass

    def server_close(self) -> None:
        self.server.close()


def _wsgi(root: Path) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/healthz":
            start("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        path = resolve(root, environ["PATH_INFO"])
        if path is None:
            start("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        body = path.read_bytes()
        headers = [("Content-Type", "application/atom+xml")]
        if accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", "")) and len(body) > 512:
            body = gzip.compress(body, mtime=0)
            headers.append(("Content-Encoding", "gzip"))
        start("200 OK", [*headers, ("Content-Length", str(len(body)))])
        return [body]
    return app
