"""The one loopback HTTP server helper every test server is built on: a threaded
http.server on 127.0.0.x, served from a daemon thread, closed quickly."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

# how often a server looks for shutdown(): the 0.5 s default was most of the suite's wait
POLL = 0.02


class Loopback:
    """``handler`` served on ``host``:``port`` (0: any free port) until ``close``.
    ``prepare`` may change the server before it serves (TLS, say)."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1",
                 port: int = 0, prepare: Callable[[ThreadingHTTPServer], None] | None = None
                 ) -> None:
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        if prepare is not None:
            prepare(self.httpd)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(POLL,),
                                       daemon=True)
        self.thread.start()

    @property
    def host(self) -> str:
        return str(self.httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def url(self, path: str = "/", scheme: str = "http") -> str:
        return f"{scheme}://{self.host}:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Loopback:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
