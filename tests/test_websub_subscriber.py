"""Receiving pushes: the service subscribes to a member's hub (a real one on 127.0.0.1), answers
its verification, and ingests signed pushes at once; unsigned or forged ones are refused."""

from __future__ import annotations

import hashlib
import hmac
import socket
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from conftest import write_config
from support.http import Loopback
from support.scripted import Reply, ScriptedServer
from test_run import free_port, get, wait_for

from aggregator import Aggregator
from aggregator.config import load_settings

pytestmark = pytest.mark.slow  # the service in a thread, for seconds


def atom(hub: str, self_url: str, *titles: str) -> bytes:
    entries = "".join(
        f"<entry><title>{t}</title><id>tag:city.example,2026:{i}</id>"
        f"<link href='https://city.example/news/{i}'/><updated>2026-11-2{i}T10:00:00Z</updated>"
        f"<summary>{t}, said the council.</summary></entry>" for i, t in enumerate(titles))
    return (f"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
            f"<title>City news</title><id>tag:city.example,2026:feed</id>"
            f"<updated>2026-11-29T10:00:00Z</updated><link rel='hub' href='{hub}'/>"
            f"<link rel='self' href='{self_url}'/>{entries}</feed>").encode()


class Hub:
    """A WebSub hub: takes subscriptions, verifies the callback, pushes content."""

    def __init__(self) -> None:
        self.subscriptions: list[dict[str, str]] = []
        self.verified: list[bool] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in urllib.parse.parse_qs(
                    self.rfile.read(size).decode()).items()}
                hub.subscriptions.append(form)
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                threading.Thread(target=hub.verify, args=(form,)).start()

            def log_message(self, *args: Any) -> None:
                pass

        self.loopback = Loopback(Handler)
        self.url = self.loopback.url("/")

    def verify(self, form: dict[str, str], topic: str | None = None) -> None:
        query = urllib.parse.urlencode({"hub.mode": "subscribe", "hub.topic": topic or
                                        form["hub.topic"], "hub.challenge": "c-42",
                                        "hub.lease_seconds": "3600"})
        try:
            with urllib.request.urlopen(f"{form['hub.callback']}?{query}", timeout=5) as r:
                self.verified.append(r.status == 200 and r.read() == b"c-42")
        except OSError:
            self.verified.append(False)

    def push(self, body: bytes, secret: str | None = None) -> int:
        form = self.subscriptions[-1]
        mac = hmac.new((secret or form["hub.secret"]).encode(), body, hashlib.sha256)
        request = urllib.request.Request(form["hub.callback"], data=body, headers={
            "Content-Type": "application/atom+xml",
            "X-Hub-Signature-256": f"sha256={mac.hexdigest()}"})
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                return int(r.status)
        except urllib.error.HTTPError as e:
            return int(e.code)

    def close(self) -> None:
        self.loopback.close()


@pytest.fixture
def hub() -> Iterator[Hub]:
    h = Hub()
    yield h
    h.close()


def test_subscribe_verify_and_take_signed_pushes(tmp_path: Path, hub: Hub,
                                                 server: ScriptedServer) -> None:
    feeds = server
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    feed_url = feeds.url("/feed")
    feeds.routes["/feed"] = Reply(200, atom(hub.url, feed_url, "Old news"),
                                  {"Content-Type": "application/atom+xml", "ETag": '"1"'})
    config = write_config(tmp_path, [{"id": "city", "name": "City", "kind": "member",
                                      "url": feed_url}],
                          hub={"title": "Hub", "base_url": base, "id": "tag:hub.test,2026:",
                               "languages": ["en"], "contact": "mailto:t@example.org"},
                          serve={"host": "127.0.0.1", "port": port})
    stop = threading.Event()
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        runner = threading.Thread(target=agg.run, args=(stop,))
        runner.start()
        try:
            wait_for(lambda: hub.verified == [True])
            form = hub.subscriptions[0]
            assert form["hub.mode"] == "subscribe" and form["hub.topic"] == feed_url
            assert form["hub.callback"] == f"{base}websub/city" and len(form["hub.secret"]) >= 32
            hub.verify(form, topic="https://elsewhere.example/feed")  # not our topic
            assert hub.verified[-1] is False
            polls = len(feeds.seen)
            assert hub.push(atom(hub.url, feed_url, "Old news", "Pushed news")) == 202
            wait_for(lambda: b"Pushed news" in (get(base + "all.atom") or b""))
            assert len(feeds.seen) == polls  # it came by push, not by a poll
            forged = atom(hub.url, feed_url, "Forged news")
            assert hub.push(forged, secret="not-the-secret") == 403
            wait_for(lambda: 'aggregator_websub_pushes_total{result="rejected"} 1.0' in (
                get(base + "metrics") or b"").decode())
            assert b"Forged news" not in (get(base + "all.atom") or b"")
            assert 'aggregator_websub_pushes_total{result="accepted"} 1.0' in (
                get(base + "metrics") or b"").decode()
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"POST /websub/city HTTP/1.1\r\nHost: x\r\n"  # no signature
                          b"Content-Length: 9437184\r\n\r\n")
                assert s.recv(4096).startswith(b"HTTP/1.1 403 ")  # the body never sent
            wait_for(lambda: 'aggregator_websub_pushes_total{result="rejected"} 2.0' in (
                get(base + "metrics") or b"").decode())
        finally:
            stop.set()
            runner.join(timeout=60)
        state = agg.store.source_state("city")
    assert state is not None and state.websub is not None
    assert state.websub.status == "active" and state.websub.expires is not None
    assert state.next_check_at is not None and state.last_success is not None
    assert (state.next_check_at - state.last_success).total_seconds() >= 6 * 3600  # polls less
