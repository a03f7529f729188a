"""One normalizer for every format: the same item, written as RSS, Atom or JSON Feed, becomes
the same entry."""

from __future__ import annotations

import json

import pytest

from aggregator.ingest.parse.feedparser_path import parse_feed
from aggregator.models import EntryData

HTML = '<p>Lisbon opens <b>12</b> cooling centres.<script>alert(1)</script></p>'
URL = "https://lisboa.example/news/cooling"


def rss(title: str) -> bytes:
    t = f"<title>{title}</title>" if title else ""
    return f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Lisboa</title>
<link>https://lisboa.example/</link><item>{t}<link>/news/cooling</link>
<guid isPermaLink="false">tag:lisboa.example,2021:cool-1</guid><category>Resilience</category>
<pubDate>Mon, 14 Jun 2021 09:30:00 +0000</pubDate>
<description><![CDATA[{HTML}]]></description></item></channel></rss>""".encode()


def atom(title: str) -> bytes:
    t = f"<title>{title}</title>" if title else "<title></title>"
    return f"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>Lisboa</title><id>tag:lisboa.example,2021:feed</id><updated>2021-06-14T09:30:00Z</updated>
<link href="https://lisboa.example/"/><entry>{t}<id>tag:lisboa.example,2021:cool-1</id>
<link href="/news/cooling"/><category term="Resilience"/>
<published>2021-06-14T09:30:00Z</published><updated>2021-06-14T09:30:00Z</updated>
<summary type="html"><![CDATA[{HTML}]]></summary></entry></feed>""".encode()


def json_feed(title: str) -> bytes:
    item = {"id": "tag:lisboa.example,2021:cool-1", "url": "/news/cooling", "content_html": HTML,
            "tags": ["Resilience"], "date_published": "2021-06-14T09:30:00+00:00"}
    if title:
        item["title"] = title
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Lisboa",
                       "home_page_url": "https://lisboa.example/", "items": [item]}).encode()


def read(maker: object, title: str) -> EntryData:
    body = maker(title)  # type: ignore[operator]
    [entry] = parse_feed(body, "https://lisboa.example/feed").entries
    return entry


@pytest.mark.parametrize("title", ["Cooling centres open", ""])
def test_every_format_gives_the_same_entry(title: str) -> None:
    entries = [read(m, title) for m in (rss, atom, json_feed)]
    views = {(e.guid, e.link, e.title, e.published, e.raw_categories) for e in entries}
    assert len(views) == 1, views
    [(guid, link, found_title, published, words)] = views
    assert (guid, link, words) == ("tag:lisboa.example,2021:cool-1", URL, ("Resilience",))
    assert published is not None and published.isoformat() == "2021-06-14T09:30:00+00:00"
    # no title: every format falls back to the same opening words, none to "(untitled)"
    assert found_title == (title or "Lisbon opens 12 cooling centres.")
    bodies = [e.content or e.summary or "" for e in entries]
    assert all("<script" not in b and "<b>12</b>" in b for b in bodies)
