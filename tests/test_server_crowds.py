"""The server under crowds of slow clients (issue 29): requests are read whole by the I/O
loop, so trickled heads, slow bodies and idle connections never keep others waiting."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from support.http import POLL

from aggregator.server import LoopServer, make_server

Answer = tuple[int, str, bytes]


class Hub:
    """A callback that records what it is given, and an admission that wants a signature."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def callback(self, method: str, path: str, query: dict[str, str],
                 headers: dict[str, str], body: bytes) -> Answer:
        self.bodies.append(body)
        return 202, "text/plain", b"accepted\n"

    def admit(self, method: str, path: str, headers: Mapping[str, str]) -> Answer | None:
        return None if headers.get("X-Hub-Signature-256") else (403, "text/plain", b"no\n")


@pytest.fixture
def hub() -> Hub:
    return Hub()


@pytest.fixture
def server(tmp_path: Path, hub: Hub) -> Iterator[LoopServer]:
    (tmp_path / "all.atom").write_bytes(b'<?xml version="1.0"?><feed/>' + b" " * 1000)
    srv = make_server(tmp_path, "127.0.0.1", 0, client_timeout=10.0,
                      callbacks={"/websub/": hub.callback}, admits={"/websub/": hub.admit})
    threading.Thread(target=srv.serve_forever, args=(POLL,), daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def connect(srv: LoopServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", srv.server_address[1]), timeout=5)


def timed_get(srv: LoopServer, path: str) -> tuple[int, float]:
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=30)
    conn.request("GET", path)
    status = conn.getresponse().status
    conn.close()
    return status, time.monotonic() - start


def answer(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_healthz_within_a_second_while_200_slow_heads_and_70_slow_bodies_wait(
        server: LoopServer, hub: Hub) -> None:
    crowd = [connect(server) for _ in range(270)]
    try:
        for s in crowd[:200]:
            s.sendall(b"GET /all.atom HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # a head never ended
        for s in crowd[200:]:  # signed pushes whose bodies come a byte at a time
            s.sendall(b"POST /websub/city HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                      b"X-Hub-Signature-256: sha256=00\r\n\r\n<")
        for s in crowd:
            s.sendall(b"x")
        health, health_took = timed_get(server, "/healthz")
        feed, feed_took = timed_get(server, "/all.atom")
    finally:
        for s in crowd:
            s.close()
    assert (health, feed) == (200, 200)
    assert health_took < 1 and feed_took < 1
    assert hub.bodies == []  # no slow body reached the callback


def test_80_idle_kept_alive_connections_cost_the_others_nothing(server: LoopServer) -> None:
    kept = []
    for _ in range(80):
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
        conn.request("GET", "/all.atom")
        conn.getresponse().read()
        kept.append(conn)  # open and idle, as a reader's connection pool keeps them
    try:
        took = [timed_get(server, "/all.atom")[1] for _ in range(20)]
        again = kept[0]
        again.request("GET", "/healthz")  # an idle connection is still served
        reused = again.getresponse().status
    finally:
        for conn in kept:
            conn.close()
    assert max(took) < 1 and reused == 200


def test_an_unsigned_push_is_refused_before_its_body_is_read(server: LoopServer,
                                                            hub: Hub) -> None:
    with connect(server) as s:
        s.sendall(b"POST /websub/city HTTP/1.1\r\nHost: x\r\nContent-Length: 9437184\r\n\r\n")
        head = answer(s)  # not one byte of the 9 MiB sent
    assert head.startswith(b"HTTP/1.1 403 ") and b"Connection: close" in head
    assert hub.bodies == []


def test_a_body_over_the_cap_is_refused_unread(tmp_path: Path, hub: Hub) -> None:
    srv = make_server(tmp_path, "127.0.0.1", 0, callbacks={"/websub/": hub.callback},
                      max_body=1000)
    threading.Thread(target=srv.serve_forever, args=(POLL,), daemon=True).start()
    try:
        with connect(srv) as s:
            s.sendall(b"POST /websub/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n")
            head = answer(s)
    finally:
        srv.shutdown()
        srv.server_close()
    assert head.startswith(b"HTTP/1.1 413 ") and hub.bodies == []


def test_expect_100_continue_then_the_body(server: LoopServer, hub: Hub) -> None:
    with connect(server) as s:
        s.sendall(b"POST /websub/city HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                  b"X-Hub-Signature-256: sha256=00\r\nExpect: 100-continue\r\n\r\n")
        assert answer(s) == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(b"<x/>\n")
        head = answer(s)
    assert head.startswith(b"HTTP/1.1 202 ") and hub.bodies == [b"<x/>\n"]
    assert b"100 Continue" not in head  # said once, by the loop


def test_pipelined_requests_are_answered_in_order(server: LoopServer) -> None:
    with connect(server) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 ") and data.count(b"HTTP/1.1 ") == 2
    assert b"HTTP/1.1 404 " in data.split(b"ok\n", 1)[1]


def test_a_trickled_body_is_cut_at_the_request_deadline(tmp_path: Path, hub: Hub) -> None:
    srv = make_server(tmp_path, "127.0.0.1", 0, client_timeout=0.5,
                      callbacks={"/websub/": hub.callback})
    threading.Thread(target=srv.serve_forever, args=(POLL,), daemon=True).start()
    start = time.monotonic()
    try:
        with connect(srv) as s:
            s.sendall(b"POST /websub/a HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
            while time.monotonic() - start < 5:  # a byte every 0.1 s: never silent long
                try:
                    s.sendall(b"x")
                    if s.recv(1, socket.MSG_DONTWAIT) == b"":
                        break
                except BlockingIOError:
                    pass
                except OSError:
                    break
                time.sleep(0.1)
        cut_after = time.monotonic() - start
    finally:
        srv.shutdown()
        srv.server_close()
    assert cut_after < 2 and hub.bodies == []  # the whole request had its deadline


def test_at_the_connection_cap_an_idle_kept_alive_connection_makes_room(
        server: LoopServer) -> None:
    server.max_connections = 5
    kept = []
    for _ in range(5):  # answered, kept alive, idle: the cap is reached
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        kept.append(conn)
    try:
        status, took = timed_get(server, "/all.atom")
    finally:
        for conn in kept:
            conn.close()
    assert status == 200 and took < 1  # not after the idle ones' 10 s
