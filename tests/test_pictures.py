"""An entry's picture, read from every place feeds put one, and only when its URL passes the
same checks as links."""

from __future__ import annotations

import json

import pytest

from aggregator.ingest.parse.feedparser_path import parse_feed
from aggregator.models import Image

MEDIA = 'xmlns:media="http://search.yahoo.com/mrss/"'


def rss_item(inner: str) -> bytes:
    return f"""<?xml version="1.0"?><rss version="2.0" {MEDIA}><channel><title>Bogotá</title>
<link>https://bogota.example/</link><item><title>Cycle lanes</title>
<link>https://bogota.example/news/1</link>{inner}</item></channel></rss>""".encode()


def image_of(body: bytes, url: str = "https://bogota.example/feed.xml") -> Image | None:
    return parse_feed(body, url).entries[0].image


@pytest.mark.parametrize(("inner", "expected"), [
    ('<media:thumbnail url="https://img.example/t.jpg" width="320" height="180"/>'
     '<media:content url="https://img.example/big.jpg" medium="image"/>',
     Image("https://img.example/t.jpg", 320, 180)),
    ('<media:content url="https://img.example/v.mp4" type="video/mp4"/>'
     '<media:content url="/img/c.png" type="image/png" width="640" height="480"/>',
     Image("https://bogota.example/img/c.png", 640, 480)),
    ('<enclosure url="https://img.example/e.jpg" type="image/jpeg" length="1200"/>',
     Image("https://img.example/e.jpg")),
    ('<description><![CDATA[<p>Text <img src="/p.jpg" width="300" height="200" alt="x">'
     '<img src="/second.jpg"></p>]]></description>',
     Image("https://bogota.example/p.jpg", 300, 200)),
    ('<enclosure url="https://audio.example/a.mp3" type="audio/mpeg" length="9"/>', None),
])
def test_rss_pictures(inner: str, expected: Image | None) -> None:
    assert image_of(rss_item(inner)) == expected


def test_hostile_picture_urls_are_refused() -> None:
    inner = ('<media:thumbnail url="javascript:alert(1)"/>'
             '<media:content url="data:image/png;base64,AAAA" medium="image"/>'
             '<description><![CDATA[<img src="javascript:alert(2)"><img src="ftp://x/y.jpg">'
             ']]></description>')
    assert image_of(rss_item(inner)) is None


def test_absurd_sizes_are_dropped_not_trusted() -> None:
    inner = '<media:thumbnail url="https://img.example/t.jpg" width="99999999" height="-4"/>'
    assert image_of(rss_item(inner)) == Image("https://img.example/t.jpg")


def test_atom_content_image() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>Quito</title><id>tag:q,2021:f</id><updated>2021-06-14T09:30:00Z</updated>
<entry><title>Parks</title><id>tag:q,2021:1</id><link href="https://quito.example/1"/>
<updated>2021-06-14T09:30:00Z</updated>
<content type="html">&lt;p&gt;&lt;img src="https://quito.example/park.webp"&gt;&lt;/p&gt;</content>
</entry></feed>"""
    assert image_of(body) == Image("https://quito.example/park.webp")


def test_json_feed_image() -> None:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "Lyon",
           "items": [{"id": "1", "url": "https://lyon.example/1", "title": "Tram",
                      "image": "https://lyon.example/tram.jpg",
                      "banner_image": "https://lyon.example/banner.jpg",
                      "content_html": '<img src="https://lyon.example/inline.jpg">'}]}
    assert image_of(json.dumps(doc).encode(), "https://lyon.example/feed.json") == Image(
        "https://lyon.example/tram.jpg")


def test_entry_without_picture() -> None:
    assert image_of(rss_item("<description>No picture here.</description>")) is None

