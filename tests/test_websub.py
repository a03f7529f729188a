"""WebSub publishing against a local hub on 127.0.0.1 that records the pings."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import feedparser
import pytest
from conftest import SHIPPED_SOURCES, FeedServer, http_sources, write_config
from support.atomcheck import NS, assert_valid_atom
from support.http import Loopback

from aggregator import Aggregator
from aggregator.config import load_settings
from aggregator.publish.feeds import feed_urls


class Hub:
    def __init__(self) -> None:
        self.pings: list[dict[str, list[str]]] = []
        self.status = 204
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                hub.pings.append(parse_qs(self.rfile.read(length).decode()))
                self.send_response(hub.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.loopback = Loopback(Handler)
        self.url = self.loopback.url("/hub")

    def urls(self) -> list[str]:
        assert all(p["hub.mode"] == ["publish"] for p in self.pings)
        return [p["hub.url"][0] for p in self.pings]


@pytest.fixture
def hub() -> Iterator[Hub]:
    h = Hub()
    yield h
    h.loopback.close()


def make(tmp_path: Path, sources: list[dict[str, Any]], hub: Hub) -> Aggregator:
    config = write_config(tmp_path, sources, hub={
        "title": "Test hub", "base_url": "http://127.0.0.1:8080/", "id": "tag:hub.test,2026:",
        "languages": ["en", "fr", "es"], "websub_hub": hub.url})
    agg = Aggregator(load_settings(config), parse_processes=0)
    assert agg.websub is not None
    agg.websub.backoff = 0.001  # the retries, not their waits, are what is tested
    return agg


def test_one_ping_per_changed_feed_none_for_unchanged(tmp_path: Path, hub: Hub,
                                                      feed_server: FeedServer) -> None:
    sources = http_sources(feed_server)
    with make(tmp_path, sources, hub) as agg:
        agg.update()
        first = agg.publish()
        assert sorted(hub.urls()) == sorted(feed_urls(agg.settings, first))
        assert len(hub.urls()) == 28 * 3  # every feed, in three formats
        hub.pings.clear()
        agg.update()
        agg.publish()
        assert hub.pings == []  # nothing changed: no ping
        route = feed_server.routes["/durban-member-rss1.xml"]
        route.body = route.body.replace(b"Three new Go!Durban", b"Four new Go!Durban")
        route.headers["ETag"] = '"v2"'
        agg.update(["durban"])
        changed = agg.publish()
    urls = hub.urls()
    assert sorted(urls) == sorted(feed_urls(agg.settings, changed))
    assert "http://127.0.0.1:8080/mobility.atom" in urls
    assert "http://127.0.0.1:8080/en/mobility.json" in urls
    assert "http://127.0.0.1:8080/culture.atom" not in urls  # unchanged bytes


def test_failed_pings_are_retried_and_recorded(tmp_path: Path, hub: Hub,
                                               examples_dir: Path) -> None:
    hub.status = 500
    with make(examples_dir, SHIPPED_SOURCES[:1], hub) as agg:
        agg.update()
        changed = feed_urls(agg.settings, agg.publish())
        assert len(hub.pings) == 3 * len(changed)  # three attempts each
        assert agg.websub is not None and sorted(agg.websub.pending) == sorted(changed)
        failed = json.loads((agg.settings.output.dir / "status.json").read_text())["websub"]
        hub.status = 204
        hub.pings.clear()
        agg.publish()  # nothing changed, but the pending pings go out now
        assert sorted(hub.urls()) == sorted(changed) and agg.websub.pending == []
        retried = json.loads((agg.settings.output.dir / "status.json").read_text())["websub"]
    # status.json tells of each publish's own pings: the failures, then the recovery
    assert failed["hub"] == hub.url and failed["last_error"].endswith("HTTP 500")
    assert failed["consecutive_failures"] > 0 and sorted(failed["pending"]) == sorted(changed)
    assert retried["last_error"] is None and retried["consecutive_failures"] == 0
    assert retried["pending"] == [] and retried["last_ping"] is not None


def test_feeds_advertise_the_hub(tmp_path: Path, hub: Hub, examples_dir: Path) -> None:
    with make(examples_dir, SHIPPED_SOURCES[:1], hub) as agg:
        agg.update()
        agg.publish()
        out = agg.settings.output.dir
    doc = assert_valid_atom((out / "all.atom").read_bytes())
    rels = {x.get("rel"): x.get("href") for x in doc.findall("a:link", NS)}
    assert rels["hub"] == hub.url and rels["self"] == "http://127.0.0.1:8080/all.atom"
    rss = feedparser.parse(io.BytesIO((out / "all.rss").read_bytes()))
    assert {x.get("rel"): x.get("href") for x in rss.feed.links}["hub"] == hub.url
    data = json.loads((out / "all.json").read_text())
    assert data["hubs"] == [{"type": "WebSub", "url": hub.url}]
