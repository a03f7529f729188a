"""One bad JSON Feed item no longer rejects the feed (issue 29): it is left out and named
in status and check, the member's other items are read; empty items are not stored."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import write_config
from support.scripted import Reply, ScriptedServer
from test_cli import cli

from aggregator import Aggregator
from aggregator.config import load_settings
from aggregator.errors import ParseError
from aggregator.ingest.parse.jsonfeed import parse_json_feed

JSON = {"Content-Type": "application/feed+json"}


def item(i: int) -> dict[str, object]:
    return {"id": f"n-{i}", "url": f"https://city.example/{i}", "title": f"News {i}",
            "content_html": "<p>Body</p>", "date_published": f"2026-11-0{i}T10:00:00Z"}


def document() -> bytes:
    items = [item(i) for i in range(1, 7)]
    items.insert(3, {"id": "bad", "title": {"en": "an object"}, "url": "https://city.example/b"})
    items.append({"id": "empty", "date_published": "2026-11-07T10:00:00Z"})
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "City",
                       "items": items}).encode()


def test_the_good_items_are_read_and_the_bad_one_named() -> None:
    parsed = parse_json_feed(document(), "https://city.example/feed.json")
    assert [e.title for e in parsed.entries] == [f"News {i}" for i in range(1, 7)]
    assert parsed.notes.refused == 2
    assert parsed.notes.refused_why == ("items[3].title: expected a string, got dict",
                                        "items[7]: no title, no url and no content")


def test_a_feed_of_bad_items_only_is_still_a_parse_error() -> None:
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "T",
                       "items": [{"id": "1", "title": 42}]}).encode()
    try:
        parse_json_feed(body, None)
    except ParseError as e:
        assert str(e) == "items[0].title: expected a string, got int"
    else:
        raise AssertionError("no error")


def test_poll_status_and_check_name_the_left_out_items(tmp_path: Path,
                                                      server: ScriptedServer) -> None:
    server.routes["/feed.json"] = Reply(200, document(), JSON)
    config = write_config(tmp_path, [{"id": "city", "kind": "member",
                                      "url": server.url("/feed.json")}])
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        (result,) = agg.update().results
        assert result.error is None and result.new == 6
        assert len(agg.entries(source_id="city")) == 6
    status = cli("status", "--wide", "--config", str(config))
    assert "2 items left out (items[3].title: expected a string, got dict, ...)" in status.stdout
    checked = cli("check", server.url("/feed.json"), "--json", "--config", str(config))
    report = json.loads(checked.stdout)
    (refused,) = [f for f in report["findings"] if f["code"] == "items-refused"]
    assert refused["severity"] == "warning" and "items[3].title" in refused["message"]
    assert report["entries"] == 6
