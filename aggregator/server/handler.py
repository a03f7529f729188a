"""The answer to one whole request: files of the output directory (ETag, Last-Modified,
304, gzip), the computed endpoints and the callbacks. It never reads outside the output
dir. The request arrives whole (read by channels.py); the answer is written to a buffer."""

from __future__ import annotations

import gzip
import io
import logging
import os
from collections.abc import Callable
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

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


Endpoint = Callable[[], tuple[int, str, bytes]]  # -> status, content type, body
# (method, path, query, headers, body) -> status, content type, body: under a path prefix
Callback = Callable[[str, str, dict[str, str], dict[str, str], bytes], tuple[int, str, bytes]]
MAX_CALLBACK_BODY = 10 * 2**20


class OutputHandler(BaseHTTPRequestHandler):
    root: Path  # set on the subclass made by make_server
    endpoints: ClassVar[dict[str, Endpoint]] = {}  # computed answers: /metrics, /healthz
    callbacks: ClassVar[dict[str, Callback]] = {}  # path prefix -> handler (/websub/)
    max_body: ClassVar[int] = MAX_CALLBACK_BODY  # the most a callback's body may hold
    server_version = "lrg-aggregator"
    protocol_version = "HTTP/1.1"  # connections kept alive; the I/O loop holds idle ones

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

    def handle_expect_100(self) -> bool:
        return True  # the I/O loop said "100 Continue" when it admitted the body

    @classmethod
    def answer(cls, request: bytes, peer: tuple[str, int]) -> tuple[bytes, bool]:
        """The response to one whole request, and whether to close the connection after."""
        handler = cls.__new__(cls)
        handler.client_address = peer
        handler.rfile, handler.wfile = io.BytesIO(request), io.BytesIO()
        handler.close_connection = True
        handler.handle_one_request()
        return handler.wfile.getvalue(), handler.close_connection

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _callback(self, send_body: bool) -> bool:
        """A request under a callback prefix: answered by its handler."""
        parts = urlsplit(self.path)
        prefix = next((p for p in self.callbacks if parts.path.startswith(p)), None)
        if prefix is None:
            return False
        length = self.headers.get("Content-Length", "")  # none (or chunked): 411
        if self.command == "POST" and (not length.isdigit() or int(length) > self.max_body):
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


def refusal(status: int, text: str) -> bytes:
    """A whole plain-text response that ends the connection: what the I/O loop answers
    itself (a body refused before it is read, a header block too large)."""
    body = text.encode()
    head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
            f"Server: {OutputHandler.server_version} {OutputHandler.sys_version}",
            f"Date: {formatdate(usegmt=True)}",
            "Content-Type: text/plain; charset=utf-8", f"Content-Length: {len(body)}",
            "Connection: close", *(f"{k}: {v}" for k, v in SECURITY_HEADERS.items())]
    return "\r\n".join(head).encode() + b"\r\n\r\n" + body
