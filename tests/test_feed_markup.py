"""Markup details validators and readers notice (issue 27): history links without an
"ns0:" prefix, JSON Feed extensions as objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SHIPPED_SOURCES, write_config

from aggregator import Aggregator
from aggregator.config import load_settings


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import shutil

    from conftest import EXAMPLES
    root = tmp_path_factory.mktemp("markup")
    shutil.copytree(EXAMPLES, root / "examples")
    config = write_config(root, SHIPPED_SOURCES, output={"dir": "feeds", "entries_per_feed": 3})
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.update()
        agg.publish()
    return root / "feeds"


def test_history_links_carry_no_generated_prefix(feeds: Path) -> None:
    pages = [feeds / "all.atom", *sorted((feeds / "archive" / "all").glob("*.atom"))]
    assert len(pages) > 2  # 3 entries a page: the shipped network makes archives
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "ns0:" not in text and "xmlns:ns0" not in text, page.name
        assert 'rel="prev-archive"' in text or 'rel="next-archive"' in text, page.name


def test_json_feed_extensions_are_objects(feeds: Path) -> None:
    found = 0
    for path in feeds.rglob("*.json"):
        if path.name == "status.json" or "pagefind" in path.parts:
            continue
        doc = json.loads(path.read_text(encoding="utf-8"))
        for thing in [doc, *doc.get("items", [])]:
            for key, value in thing.items():
                if key.startswith("_"):
                    found += 1
                    assert isinstance(value, dict), (path.name, key)
    assert found


def test_readers_take_the_html_page_as_the_feeds_website(feeds: Path) -> None:
    import feedparser
    from lxml import etree
    for name in ("all.atom", "resilience.atom", "fr/all.atom"):
        doc = etree.parse(str(feeds / name))
        alternates = doc.findall("{http://www.w3.org/2005/Atom}link[@rel='alternate']")
        assert alternates[-1].get("type") == "text/html", name  # newsboat: the last one
        parsed = feedparser.parse((feeds / name).read_bytes())
        assert parsed.feed.link == alternates[-1].get("href")  # feedparser: the html one


@pytest.mark.parametrize(("feed_id", "kept"), [
    ("urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6", True),
    ("urn:uuid:not-a-uuid-at-all", False), ("urn:uuid:", False),
    ("tag:city.example,2026:feed", True)])
def test_a_source_id_is_copied_only_when_valid(tmp_path: Path, feed_id: str,
                                               kept: bool) -> None:
    from lxml import etree
    (tmp_path / "city.xml").write_text(
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{feed_id}</id><title>City</title><updated>2026-11-02T09:00:00Z</updated>"
        '<link href="https://city.example/"/><entry><id>tag:city.example,2026:1</id>'
        "<title>Tram</title><link href=\"https://city.example/tram\"/>"
        "<updated>2026-11-02T09:00:00Z</updated></entry></feed>")
    config = write_config(tmp_path, [{"id": "city", "kind": "member", "path": "city.xml"}])
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.update()
        agg.publish()
    doc = etree.parse(str(tmp_path / "feeds" / "all.atom"))
    source_id = doc.findtext("{*}entry/{*}source/{*}id")
    assert source_id == (feed_id if kept else "https://city.example/")
