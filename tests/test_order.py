"""One order for entries: with equal dates, a feed, a site page and the store agree."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import write_config
from lxml import etree

from aggregator import Aggregator
from aggregator.config import load_settings

TITLES = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]
ITEM = ("<item><title>{t} tie</title><link>https://city.example/{t}</link>"
        "<guid>https://city.example/{t}</guid>"
        "<pubDate>Tue, 01 Jun 2021 10:00:00 +0000</pubDate><description>{t} news about the "
        "city and its streets</description></item>")
ATOM = "{http://www.w3.org/2005/Atom}"


def test_a_feed_and_a_site_page_agree_on_equal_dates(tmp_path: Path) -> None:
    (tmp_path / "feed.xml").write_text(
        '<rss version="2.0"><channel><title>City</title><link>https://city.example/</link>'
        + "".join(ITEM.format(t=t) for t in TITLES) + "</channel></rss>", encoding="utf-8")
    config = write_config(tmp_path, [{"id": "city", "name": "City", "kind": "member",
                                      "path": "feed.xml"}])
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.update()
        agg.publish(full=True)
        stored = [e.title for e in agg.store.entries()]
    feed = etree.parse(str(tmp_path / "feeds" / "all.atom"))
    in_feed = [t.text for t in feed.iter(f"{ATOM}title") if t.text and " tie" in t.text]
    page = (tmp_path / "feeds" / "index.html").read_text(encoding="utf-8")
    on_page = [m.group(1) + " tie" for m in re.finditer(r"\b(\w+) tie\b", page)]
    on_page = list(dict.fromkeys(on_page))  # a title may be repeated (a link and alt text)
    assert sorted(stored) == sorted(f"{t} tie" for t in TITLES)
    assert in_feed == stored
    assert on_page == stored
