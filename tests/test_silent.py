"""Silent feeds (issue 28): a source that answers fine but has published nothing new for
`silent_after` (60 days by default) is flagged in status, status.json, status.atom and on
its member report; a new entry clears the flag."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import write_config
from support.scripted import Reply, ScriptedServer

from aggregator import Aggregator
from aggregator.cli.tables import status_table
from aggregator.config import load_settings

RSS = {"Content-Type": "application/rss+xml", "ETag": '"v1"'}


def rss(*titles: str) -> bytes:
    items = "".join(f"<item><title>{t}</title><link>https://city.example/{i}</link>"
                    "<pubDate>Mon, 02 Nov 2026 09:00:00 GMT</pubDate></item>"
                    for i, t in enumerate(titles))
    return ("<?xml version='1.0'?><rss version='2.0'><channel><title>City</title>"
            f"<link>https://city.example/</link>{items}</channel></rss>").encode()


def test_a_source_with_nothing_new_for_60_days_is_flagged_then_cleared(
        tmp_path: Path, server: ScriptedServer) -> None:
    server.routes["/feed"] = Reply(200, rss("Budget adopted"), RSS)
    config = write_config(tmp_path, [{"id": "city", "kind": "member", "url": server.url("/feed")},
                                     {"id": "town", "kind": "member", "url": server.url("/feed"),
                                      "silent_after": "90d"}])
    now = [datetime(2026, 11, 2, 12, tzinfo=UTC)]
    with Aggregator(load_settings(config), clock=lambda: now[0], parse_processes=0) as agg:
        agg.update()
        agg.publish()
        now[0] += timedelta(days=59)
        agg.update()
        assert agg.store.source_state("city").silent_since is None  # type: ignore[union-attr]
        now[0] += timedelta(days=2)  # 61 days: the feed still answers, nothing new
        agg.update()
        agg.update()  # flagged once: one event
        agg.publish()
        health = {h.id: h for h in agg.status()}
        out = agg.settings.output.dir
        assert health["city"].silent_since == "2026-11-02T12:00:00+00:00"
        assert health["town"].silent_since is None  # its own silent_after: 90 days
        assert "silent: nothing new since" in "\n".join(status_table(list(health.values()),
                                                                     wide=True))
        doc = json.loads((out / "status.json").read_text())
        assert {s["id"]: s["silent_since"] for s in doc["sources"]}["city"] == \
            "2026-11-02T12:00:00+00:00"
        atom = (out / "status.atom").read_text()
        assert atom.count("has published nothing new for a while") == 1
        assert "nothing new since 2026-11-02" in atom
        assert "Nothing new since" in (out / "members" / "city.html").read_text()
        server.routes["/feed"] = Reply(200, rss("Budget adopted", "Tram opens"),
                                       RSS | {"ETag": '"v2"'})
        agg.update()
        agg.publish()
        assert agg.store.source_state("city").silent_since is None  # type: ignore[union-attr]
        assert "Nothing new since" not in (out / "members" / "city.html").read_text()
