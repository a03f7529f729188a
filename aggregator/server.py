"""Read-only HTTP serving of the output directory (ETag, Last-Modified, 304, gzip).

For production, put nginx in front of feeds/ (see README); this server is what `aggregator
serve` and `run` use, and it is safe to expose: it never reads outside the output dir.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

from aggregator.errors import AggregatorError

log = logging.getLogger("aggregator.server")

CONTENT_TYPES = {
    ".atom": "application/atom+xml; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".js": "text/javascript; charset=utf-8",  # the search page (search.js, pagefind/)
    ".wasm": "application/wasm",
}
NOT_FOUND_PAGE = (b'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                  b'<meta name="viewport" content="width=device-width, initial-scale=1">'
                  b"<title>Not found</title></head><body><main><h1>Not found</h1>"
                  b'<p>There is nothing here. <a href="/">Back to the news</a>.</p>'
                  b"</main></body></html>\n")
BY_NAME = {"status.json": "application/json; charset=utf-8",  # the JSON that is no feed
           "pagefind-entry.json": "application/json; charset=utf-8"}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # Scripts only from the site itself: the search page runs Pagefind (WebAssembly, index
    # fragments fetched from pagefind/); pictures come from the members' sites.
    "Content-Security-Policy": "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; "
                               "connect-src 'self'; img-src https: http: data:; "
                               "style-src 'self' 'unsafe-inline'; base-uri 'none'; "
                               "form-action 'none'",
}


MAX_THREADS = 64  # requests handled at once; more connections wait in the backlog
BACKLOG = 1024  # connections the kernel queues before refusing
REAP_EVERY = 0.25  # seconds between looks for clients over their time
CLIENT_TIMEOUT = 10.0  # seconds a client may stay silent mid-request or idle between requests


Endpoint = Callable[[], tuple[int, str, bytes]]  # -> status, content type, body
# (method, path, query, headers, body) -> status, content type, body: under a path prefix
Callback = Callable[[str, str, dict[str, str], dict[str, str], bytes], tuple[int, str, bytes]]
MAX_CALLBACK_BODY = 10 * 2**20


class OutputHandler(BaseHTTPRequestHandler):
    root: Path  # set on the subclass made by make_server
    endpoints: ClassVar[dict[str, Endpoint]] = {}  # computed answers: /metrics, /healthz
    callbacks: ClassVar[dict[str, Callback]] = {}  # path prefix -> handler (/websub/)
    server_version = "lrg-aggregator"
    timeout = CLIENT_TIMEOUT  # applied to the socket: a slow or idle client is dropped

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def do_POST(self) -> None:
        if self._callback(send_body=True):
            return
        self._plain(HTTPStatus.METHOD_NOT_ALLOWED, "read-only\n", {"Allow": "GET, HEAD"})

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = do_POST

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """http.server's own errors (bad request line, unknown method) with our headers."""
        self.close_connection = True
        self._plain(HTTPStatus(code), f"{message or HTTPStatus(code).phrase}\n",
                    send_body=self.command != "HEAD")

    def parse_request(self) -> bool:
        ok = super().parse_request()
        self.server.request_read(self.connection)  # type: ignore[attr-defined]
        return ok

    def handle(self) -> None:
        self.server.reading(self.connection, self.timeout)  # type: ignore[attr-defined]
        try:
            super().handle()
        except (ConnectionError, TimeoutError):  # the client went away or went quiet
            self.close_connection = True
        finally:
            self.server.request_read(self.connection)  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _callback(self, send_body: bool) -> bool:
        """A request under a callback prefix: answered by its handler."""
        parts = urlsplit(self.path)
        prefix = next((p for p in self.callbacks if parts.path.startswith(p)), None)
        if prefix is None:
            return False
        length = self.headers.get("Content-Length", "")  # none (or chunked): 411
        if self.command == "POST" and (not length.isdigit() or int(length) > MAX_CALLBACK_BODY):
            self.close_connection = True
            self._plain(HTTPStatus.REQUEST_ENTITY_TOO_LARGE if length.isdigit()
                        else HTTPStatus.LENGTH_REQUIRED, "body refused\n")
            return True
        body = self.rfile.read(int(length)) if self.command == "POST" else b""
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        status, kind, answer = self.callbacks[prefix](
            self.command, parts.path, query, dict(self.headers.items()), body)
        self._send(HTTPStatus(status), answer, {"Content-Type": kind,
                                                "Cache-Control": "no-store"}, send_body)
        return True

    def _serve(self, send_body: bool) -> None:
        if self._callback(send_body):
            return
        endpoint = self.endpoints.get(urlsplit(self.path).path)
        if endpoint is not None:
            status, kind, answer = endpoint()
            self._send(HTTPStatus(status), answer, {"Content-Type": kind,
                                                    "Cache-Control": "no-store"}, send_body)
            return
        path = resolve(self.root, self.path)
        if path is None:
            self._not_found(send_body)
            return
        try:
            with open(path, "rb") as f:  # one open file: ETag and bytes always agree
                st = os.fstat(f.fileno())
                body = f.read()
        except OSError:
            self._not_found(send_body)
            return
        etag = f'"{st.st_size:x}-{st.st_mtime_ns:x}"'
        headers = {"ETag": etag, "Last-Modified": formatdate(st.st_mtime, usegmt=True),
                   "Content-Type": BY_NAME.get(path.name) or CONTENT_TYPES.get(
                       path.suffix, "application/octet-stream"),
                   "Cache-Control": "public, max-age=300", "Vary": "Accept-Encoding"}
        if self._not_modified(etag, int(st.st_mtime)):
            self._send(HTTPStatus.NOT_MODIFIED, b"", headers, send_body=False)
            return
        if accepts_gzip(self.headers.get("Accept-Encoding", "")) and len(body) > 512:
            body = gzip.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
        self._send(HTTPStatus.OK, body, headers, send_body)

    def _not_modified(self, etag: str, mtime: int) -> bool:
        # RFC 9110 13.1.2 / 13.1.3: If-None-Match wins over If-Modified-Since.
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
            return "*" in tags or etag in tags
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                return mtime <= int(parsedate_to_datetime(ims).timestamp())
            except (TypeError, ValueError):
                return False
        return False

    def _not_found(self, send_body: bool) -> None:
        headers = {"Content-Type": "text/html; charset=utf-8"}
        self._send(HTTPStatus.NOT_FOUND, NOT_FOUND_PAGE, headers, send_body)

    def _plain(self, status: HTTPStatus, text: str, extra: dict[str, str] | None = None,
               send_body: bool = True) -> None:
        headers = {"Content-Type": "text/plain; charset=utf-8", **(extra or {})}
        self._send(status, text.encode(), headers, send_body)

    def _send(self, status: HTTPStatus, body: bytes, headers: dict[str, str],
              send_body: bool) -> None:
        self.send_response(status)
        for name, value in {**headers, **SECURITY_HEADERS}.items():
            self.send_header(name, value)
        if status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)


def accepts_gzip(header: str) -> bool:
    """Whether Accept-Encoding allows gzip (RFC 9110 12.5.3: "gzip;q=0" refuses it, and a
    "*" speaks for gzip only when gzip is not named)."""
    weights: dict[str, float] = {}
    for item in header.lower().split(","):
        name, _, params = item.partition(";")
        q = params.strip().removeprefix("q=") if params.strip().startswith("q=") else "1"
        try:
            weights[name.strip()] = float(q)
        except ValueError:
            weights[name.strip()] = 0.0
    for name in ("gzip", "x-gzip", "*"):
        if name in weights:
            return weights[name] > 0
    return False


def resolve(root: Path, raw_path: str) -> Path | None:
    """The file a request path names inside ``root``, or None (traversal, hidden, missing)."""
    path = unquote(urlsplit(raw_path).path)
    if "\\" in path or "\x00" in path:
        return None
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") or p.startswith(".") for p in parts):
        return None
    target = root.joinpath(*parts) if parts else root
    if target.is_dir():
        target = target / "index.html"
    try:
        real = target.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return real if real.is_relative_to(root.resolve()) and real.is_file() else None


class BoundedHTTPServer(ThreadingHTTPServer):
    """One thread per request, at most MAX_THREADS of them: a crowd of slow clients waits
    in the backlog instead of taking a thread each."""

    request_queue_size = BACKLOG
    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._slots = threading.BoundedSemaphore(MAX_THREADS)
        self._reading: dict[socket.socket, float] = {}  # connection -> when its time is up
        self._reading_lock = threading.Lock()
        self._closed = threading.Event()  # before binding: a failed bind closes the server
        super().__init__(*args, **kwargs)
        threading.Thread(target=self._reap, name="http-reaper", daemon=True).start()

    def server_close(self) -> None:
        self._closed.set()
        super().server_close()

    def reading(self, conn: socket.socket, seconds: float | None) -> None:
        """A request is being read: the whole of it (line and headers) gets ``seconds``,
        so a client trickling a byte at a time (slowloris) cannot keep a thread."""
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
        log.debug("request from %s failed", client_address, exc_info=True)


def make_server(root: Path, host: str, port: int, client_timeout: float = CLIENT_TIMEOUT,
                endpoints: dict[str, Endpoint] | None = None,
                callbacks: dict[str, Callback] | None = None) -> ThreadingHTTPServer:
    handler = type("BoundOutputHandler", (OutputHandler,),
                   {"root": root, "timeout": client_timeout,
                    "endpoints": {"/healthz": healthz, **(endpoints or {})},
                    "callbacks": callbacks or {}})
    try:
        server = BoundedHTTPServer((host, port), handler)
    except OSError as e:  # a taken port, a host that is not ours: one line, not a traceback
        raise AggregatorError(f"cannot listen on {host}:{port}: {e.strerror or e} "
                              "(set serve.host / serve.port in the config)") from e
    return server


def healthz() -> tuple[int, str, bytes]:
    """The process is up and answering (liveness)."""
    return 200, "text/plain; charset=utf-8", b"ok\n"


def serve_in_background(root: Path, host: str, port: int,
                        endpoints: dict[str, Endpoint] | None = None,
                        callbacks: dict[str, Callback] | None = None) -> ThreadingHTTPServer:
    server = make_server(root, host, port, endpoints=endpoints, callbacks=callbacks)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
