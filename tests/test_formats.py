"""Every published feed in Atom, RSS 2.0 and JSON Feed 1.1, with the same entries."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from conftest import SHIPPED_SOURCES, write_config
from support.atomcheck import NS, assert_valid_atom

from aggregator import Aggregator
from aggregator.config import load_settings
from aggregator.ingest.parse.feedparser_path import parse_feed


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    import shutil

    from conftest import EXAMPLES
    root = tmp_path_factory.mktemp("formats")
    shutil.copytree(EXAMPLES, root / "examples")
    with Aggregator(load_settings(write_config(root, SHIPPED_SOURCES)),
                    parse_processes=0) as agg:
        agg.update()
        agg.publish()
        yield agg.settings.output.dir


def feeds(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.atom") if p.name != "status.atom")


def atom_entries(path: Path) -> list[dict[str, object]]:
    doc = assert_valid_atom(path.read_bytes())
    return [{"id": e.findtext("a:id", namespaces=NS), "title": e.findtext("a:title", namespaces=NS),
             "link": next((x.get("href") for x in e.findall("a:link", NS) if x.get("rel") is None),
                          None),
             "published": datetime.fromisoformat(e.findtext("a:published", namespaces=NS) or "")}
            for e in doc.findall("a:entry", NS)]


def test_all_three_formats_for_every_feed(out: Path) -> None:
    atoms = feeds(out)
    assert len(atoms) == 7 * 4  # all + 6 categories, in the hub language and 3 languages
    for atom in atoms:
        assert atom.with_suffix(".rss").is_file() and atom.with_suffix(".json").is_file()


def test_rss_has_the_same_entries(out: Path) -> None:
    for atom in feeds(out):
        want = atom_entries(atom)
        rss = feedparser.parse(io.BytesIO(atom.with_suffix(".rss").read_bytes()))
        assert not rss.bozo and rss.version == "rss20"
        got = [{"id": e.id, "title": e.title, "link": e.get("link"),
                "published": datetime(*e.published_parsed[:6], tzinfo=UTC)}
               for e in rss.entries]
        assert got == want, atom


def test_json_feed_has_the_same_entries(out: Path) -> None:
    for atom in feeds(out):
        body = atom.with_suffix(".json").read_bytes()
        doc = json.loads(body)
        assert doc["version"] == "https://jsonfeed.org/version/1.1"
        assert doc["feed_url"].endswith(atom.with_suffix(".json").name)
        assert all(isinstance(i["id"], str) and i["content_html"] is not None
                   for i in doc["items"])
        parsed = parse_feed(body, doc["feed_url"])  # our own JSON Feed reader reads it back
        got = [{"id": e.guid, "title": e.title, "link": e.link, "published": e.published}
               for e in parsed.entries]
        assert got == atom_entries(atom), atom


def test_formats_link_to_each_other(out: Path) -> None:
    base = "http://127.0.0.1:8080/"
    doc = assert_valid_atom((out / "fr" / "culture.atom").read_bytes())
    links = {(x.get("rel"), x.get("type")): x.get("href") for x in doc.findall("a:link", NS)}
    assert links[("self", "application/atom+xml")] == base + "fr/culture.atom"
    assert links[("alternate", "application/rss+xml")] == base + "fr/culture.rss"
    assert links[("alternate", "application/feed+json")] == base + "fr/culture.json"
    rss = feedparser.parse(io.BytesIO((out / "fr" / "culture.rss").read_bytes()))
    hrefs = {(x.get("rel"), x.get("type")): x.get("href") for x in rss.feed.links}
    assert hrefs[("alternate", "application/atom+xml")] == base + "fr/culture.atom"
    assert hrefs[("alternate", "application/feed+json")] == base + "fr/culture.json"
    data = json.loads((out / "fr" / "culture.json").read_text())
    assert {a["type"]: a["url"] for a in data["_alternates"]["formats"]} == {
        "application/atom+xml": base + "fr/culture.atom",
        "application/rss+xml": base + "fr/culture.rss"}


def test_full_atom_source(out: Path) -> None:
    doc = assert_valid_atom((out / "all.atom").read_bytes())
    for entry in doc.findall("a:entry", NS):
        if "relance-arteres" in (entry.find("a:link", NS).get("href") or ""):
            src = entry.find("a:source", NS)
            break
    else:
        raise AssertionError("Montréal entry not found")
    assert src.findtext("a:id", namespaces=NS) == "https://montreal.example/nouvelles"
    assert src.findtext("a:title", namespaces=NS) == "Ville de Montréal \u2013 Nouvelles"
    assert src.findtext("a:updated", namespaces=NS) == "2021-06-22T19:00:00+00:00"
    assert src.findtext("a:author/a:name", namespaces=NS) == "Ville de Montréal"
    assert src.findtext("a:rights", namespaces=NS) == "© Ville de Montréal, CC BY 4.0"
    assert src.getparent().findtext("a:rights", namespaces=NS) == "© Ville de Montréal, CC BY 4.0"
    links = {x.get("rel"): x.get("href") for x in src.findall("a:link", NS)}
    assert links == {"alternate": "https://montreal.example/nouvelles",
                     "self": "https://montreal.example/nouvelles/atom.xml"}


def test_opml_lists_every_feed_and_the_sources(out: Path) -> None:
    import listparser

    feeds_opml = listparser.parse((out / "feeds.opml").read_bytes())
    assert not feeds_opml.bozo, feeds_opml.bozo_exception
    urls = {f.url for f in feeds_opml.feeds}
    published = {"http://127.0.0.1:8080/" + str(p.relative_to(out)) for p in feeds(out)}
    assert urls == published and len(urls) == 28
    sources = listparser.parse((out / "sources.opml").read_bytes())
    assert not sources.bozo
    # the bundled examples are local files: listed by their feed's own self link
    assert {f.url for f in sources.feeds} == {
        "https://www.sousse.example/actualites/feed.xml",
        "https://ajuntament.barcelona.example/noticias.atom",
        "https://montreal.example/nouvelles/atom.xml"}
    assert {f.title for f in sources.feeds} >= {"Ville de Sousse"}
