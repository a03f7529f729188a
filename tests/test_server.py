"""Serving the output dir: content types, validators, 304, HEAD, gzip, no traversal."""

from __future__ import annotations

import gzip
import http.client
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.http import POLL

from aggregator.server import MAX_THREADS, make_server


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    root = tmp_path / "feeds"
    root.mkdir()
    (root / "all.atom").write_bytes(b'<?xml version="1.0"?><feed/>' + b" " * 1000)
    (root / "index.html").write_text("<!DOCTYPE html><title>Hub</title>")
    (root / "status.json").write_text("{}")
    (root / ".hidden").write_text("secret")
    (tmp_path / "secret.txt").write_text("outside")
    server = make_server(root, "127.0.0.1", 0, client_timeout=1.0)
    threading.Thread(target=server.serve_forever, args=(POLL,), daemon=True).start()
    yield root, server.server_address[1]
    server.shutdown()
    server.server_close()


def request(port: int, path: str, method: str = "GET", headers: dict[str, str] | None = None
            ) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.putrequest(method, path, skip_accept_encoding=True)
    for k, v in (headers or {}).items():
        conn.putheader(k, v)
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), body


@pytest.mark.parametrize(("path", "ctype"), [
    ("/all.atom", "application/atom+xml; charset=utf-8"),
    ("/index.html", "text/html; charset=utf-8"),
    ("/", "text/html; charset=utf-8"),
    ("/status.json", "application/json; charset=utf-8"),
])
def test_content_types(served: tuple[Path, int], path: str, ctype: str) -> None:
    status, headers, _ = request(served[1], path)
    assert status == 200 and headers["Content-Type"] == ctype
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_etag_and_last_modified_give_304(served: tuple[Path, int]) -> None:
    port = served[1]
    _, headers, body = request(port, "/all.atom")
    etag, modified = headers["ETag"], headers["Last-Modified"]
    status, _, empty = request(port, "/all.atom", headers={"If-None-Match": etag})
    assert status == 304 and empty == b""
    status, _, _ = request(port, "/all.atom", headers={"If-Modified-Since": modified})
    assert status == 304
    status, _, again = request(port, "/all.atom", headers={"If-None-Match": '"other"'})
    assert status == 200 and again == body


def test_changed_file_gets_a_new_etag(served: tuple[Path, int]) -> None:
    root, port = served
    _, first, _ = request(port, "/status.json")
    (root / "status.json").write_text('{"sources": []}')
    status, second, body = request(port, "/status.json", headers={"If-None-Match": first["ETag"]})
    assert status == 200 and second["ETag"] != first["ETag"] and body == b'{"sources": []}'


def test_head_and_gzip(served: tuple[Path, int]) -> None:
    port = served[1]
    status, headers, body = request(port, "/all.atom", "HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 1000
    status, headers, body = request(port, "/all.atom", headers={"Accept-Encoding": "gzip"})
    assert headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body).startswith(b'<?xml version="1.0"?><feed/>')


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/..%5csecret.txt",
    "/..\\secret.txt", "//etc/passwd", "/feeds/../../secret.txt", "/.hidden", "/nope.atom",
    "/%00", "/index.html%00.atom",
])
def test_no_traversal(served: tuple[Path, int], path: str) -> None:
    status, _, body = request(served[1], path)
    assert status == 404
    assert b"outside" not in body and b"secret" not in body and b"root:" not in body


def test_read_only(served: tuple[Path, int]) -> None:
    status, headers, _ = request(served[1], "/all.atom", "POST")
    assert status == 405 and headers["Allow"] == "GET, HEAD"


def test_404_is_a_page(served: tuple[Path, int]) -> None:
    status, headers, body = request(served[1], "/missing.atom")
    assert status == 404 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert b"<h1>Not found</h1>" in body


def test_feed_formats_content_types(tmp_path: Path) -> None:
    (tmp_path / "all.rss").write_text("<rss/>")
    (tmp_path / "all.json").write_text("{}")
    (tmp_path / "status.json").write_text("{}")
    server = make_server(tmp_path, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, args=(POLL,), daemon=True).start()
    try:
        port = server.server_address[1]
        types = {p: request(port, p)[1]["Content-Type"]
                 for p in ("/all.rss", "/all.json", "/status.json")}
    finally:
        server.shutdown()
        server.server_close()
    assert types == {"/all.rss": "application/rss+xml; charset=utf-8",
                     "/all.json": "application/feed+json; charset=utf-8",
                     "/status.json": "application/json; charset=utf-8"}


def test_200_concurrent_gets_while_outputs_are_rebuilt(tmp_path: Path) -> None:
    """Every response is a complete, well-formed document, whatever the rebuilds do."""
    from concurrent.futures import ThreadPoolExecutor

    from lxml import etree

    from aggregator.files import write_if_changed

    def document(n: int) -> bytes:
        items = "".join(f"<entry><id>urn:e:{n}:{i}</id><title>{'x' * (n % 97)}</title>"
                        "</entry>" for i in range(200 + n % 50))
        return f'<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:f:{n}</id>{items}</feed>' \
            .encode()

    write_if_changed(tmp_path / "all.atom", document(0))
    server = make_server(tmp_path, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, args=(POLL,), daemon=True).start()
    stop = threading.Event()

    def rebuild() -> None:
        n = 1
        while not stop.is_set():
            write_if_changed(tmp_path / "all.atom", document(n))
            n += 1

    writer = threading.Thread(target=rebuild)
    writer.start()
    try:
        port = server.server_address[1]
        with ThreadPoolExecutor(32) as pool:
            results = list(pool.map(lambda _: request(port, "/all.atom"), range(200)))
    finally:
        stop.set()
        writer.join()
        server.shutdown()
        server.server_close()
    assert len(results) == 200
    for status, headers, body in results:
        assert status == 200 and int(headers["Content-Length"]) == len(body)
        root = etree.fromstring(body)  # raises on a torn document
        assert root.tag == "{http://www.w3.org/2005/Atom}feed"


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "DELETE", "BREW"])
def test_every_other_method_is_refused_with_the_security_headers(
        served: tuple[Path, int], method: str) -> None:
    status, headers, _ = request(served[1], "/all.atom", method)
    assert status in (405, 501)
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in headers["Content-Security-Policy"]


@pytest.mark.parametrize(("accept", "gzipped"), [
    ("gzip", True), ("gzip;q=0", False), ("deflate, gzip;q=0.0", False), ("*", True),
    ("gzip;q=0, *", False), ("identity", False)])
def test_gzip_only_when_the_client_accepts_it(served: tuple[Path, int], accept: str,
                                              gzipped: bool) -> None:
    _, headers, body = request(served[1], "/all.atom", headers={"Accept-Encoding": accept})
    assert (headers.get("Content-Encoding") == "gzip") == gzipped
    assert (gzip.decompress(body) if gzipped else body).startswith(b"<?xml")


def test_idle_and_slow_clients_hold_neither_threads_nor_others(
        served: tuple[Path, int]) -> None:
    import socket
    import time
    idle = [socket.create_connection(("127.0.0.1", served[1])) for _ in range(200)]
    try:
        for s in idle[:50]:
            s.sendall(b"GET /all.atom HTTP/1.1\r\nHost: x\r\n")  # never finished
        start = time.monotonic()
        status, _, _ = request(served[1], "/all.atom")
        waited = time.monotonic() - start
        threads = threading.active_count()
    finally:
        for s in idle:
            s.close()
    assert threads <= MAX_THREADS + 5  # the I/O loop holds the crowd, not threads
    assert status == 200 and waited < 1  # answered at once, not after the idle ones' time


@pytest.mark.slow  # waits out real deadlines and delays
def test_a_client_trickling_its_request_is_cut_at_the_timeout(served: tuple[Path, int]
                                                              ) -> None:
    import socket
    import time
    conn = socket.create_connection(("127.0.0.1", served[1]))
    start = time.monotonic()
    try:
        conn.sendall(b"GET /all.atom HTTP/1.1\r\n")
        while time.monotonic() - start < 5:  # a header line every 0.2 s: never idle 1 s
            try:
                conn.sendall(b"X-a: b\r\n")
            except OSError:
                break  # the server hung up: what the test wants
            time.sleep(0.2)
        dropped_after = time.monotonic() - start
    finally:
        conn.close()
    assert dropped_after < 3  # the whole request had 1 s (client_timeout), not each byte


def test_callback_bodies_are_bounded_and_must_be_sized(tmp_path: Path) -> None:
    seen: list[bytes] = []

    def callback(method: str, path: str, query: dict[str, str], headers: dict[str, str],
                 body: bytes) -> tuple[int, str, bytes]:
        seen.append(body)
        return 202, "text/plain", b"accepted\n"

    server = make_server(tmp_path, "127.0.0.1", 0, callbacks={"/websub/": callback})
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": POLL},
                     daemon=True).start()
    port = server.server_address[1]
    try:
        def post(headers: dict[str, str], body: bytes = b"") -> int:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.putrequest("POST", "/websub/city")
            for k, v in headers.items():
                conn.putheader(k, v)
            conn.endheaders(body)
            status = conn.getresponse().status
            conn.close()
            return status

        assert post({"Content-Length": str(20 * 2**20)}) == 413  # refused before reading
        assert post({}) == 411
        assert post({"Content-Length": "5"}, b"<x/>\n") == 202 and seen == [b"<x/>\n"]
    finally:
        server.shutdown()
        server.server_close()
