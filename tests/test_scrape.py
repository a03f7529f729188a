"""Pages without feeds: the network blog example read by its scrape: selectors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, write_config
from support.atomcheck import assert_valid_atom
from support.scripted import Reply, ScriptedServer

from aggregator import Aggregator
from aggregator.config import ScrapeSettings, load_settings
from aggregator.errors import ConfigError
from aggregator.ingest.parse.scrape import scrape_page

PAGE = (EXAMPLES / "network-blog.html").read_bytes()
HTML = {"Content-Type": "text/html; charset=utf-8"}
RULES: dict[str, Any] = {
    "item": "div.post", "title": "h2 a", "link": "h2 a", "summary": "p.teaser",
    "meta": "p.meta", "pattern": r"^(?P<category>.*?)\s+-\s+(?P<date>\d{2}/\d{2}/\d{4})$"}



def aggregator(tmp_path: Path, url: str, **rules: Any) -> Aggregator:
    config = write_config(tmp_path, [{"id": "blog", "name": "Network blog", "kind": "partner",
                                      "url": url, "scrape": RULES | rules}],
                          poll={"allow_hosts": ["127.0.0.1"]})
    return Aggregator(load_settings(config), parse_processes=0)


def test_the_network_blog_becomes_entries(tmp_path: Path, server: ScriptedServer) -> None:
    server.routes["/blog"] = Reply(200, PAGE, HTML)
    with aggregator(tmp_path, server.url("/blog")) as agg:
        report = agg.update()
        agg.publish()
        entries = {e.title: e for e in agg.entries()}
        out = agg.settings.output.dir
    assert report.results[0].outcome == "updated" and report.results[0].new == 5
    lisbon = entries["Sousse and Durban open a resilience learning exchange"]
    assert lisbon.link == "https://network.example/blog/resilience-learning-exchange-2021"
    assert lisbon.published.isoformat() == "2021-05-27T00:00:00+00:00"  # 27/05: day first
    assert lisbon.categories == ("resilience",)  # "Résilience, Resiliencia" through the taxonomy
    assert lisbon.summary is not None and "(+)" not in lisbon.summary
    forum = entries["Forum sur la mobilité douce : les villes partagent leurs réussites"]
    assert forum.categories == ("mobility",) and forum.language == "fr"
    assert entries["Encuentro sobre vivienda asequible en ciudades intermedias"].language == "es"
    assert entries["A warm welcome to the network's new members"].categories == (
        "uncategorized",)  # no date, no category: still an entry, placed among the others
    assert len({e.entry_id for e in entries.values()}) == 5  # ids from the links
    doc = assert_valid_atom((out / "all.atom").read_bytes())
    assert len(doc.findall("{http://www.w3.org/2005/Atom}entry")) == 5


def test_relative_links_resolve_against_the_page_without_a_base() -> None:
    page = PAGE.replace(b'<base href="https://network.example/blog/">', b"")
    rules = ScrapeSettings(item="div.post", title="h2 a", link="a.more")
    found = scrape_page(page, "https://members.example/news/index.html", rules)
    assert found.entries[0].link == ("https://members.example/news/"
                                     "resilience-learning-exchange-2021")
    assert all(e.published is None for e in found.entries)  # no date rule given


def test_items_without_links_are_told_apart_by_their_text() -> None:
    page = b"""<html><body><div class="n"><h3>Council meets</h3><p>On budgets.</p></div>
    <div class="n"><h3>Council meets</h3><p>On parks.</p></div></body></html>"""
    rules = ScrapeSettings(item="div.n", title="h3", summary="p")
    found = scrape_page(page, "https://town.example/", rules)
    assert [e.link for e in found.entries] == [None, None]
    from aggregator.stories.identity import identities
    assert len(set(identities(found.entries))) == 2


@pytest.mark.parametrize(("date_format", "text", "expected"), [
    ("day-first", "03/11/2020", "2020-11-03"),
    ("month-first", "03/11/2020", "2020-03-11"),
    ("%d.%m.%Y", "03.11.2020", "2020-11-03"),
    ("day-first", "27 mai 2021", "2021-05-27"),
])
def test_date_formats(date_format: str, text: str, expected: str) -> None:
    page = f'<div class="p"><a href="/x">T</a><time>{text}</time></div>'.encode()
    rules = ScrapeSettings(item="div.p", title="a", date="time", date_format=date_format)
    [e] = scrape_page(page, "https://town.example/", rules).entries
    assert e.published is not None and e.published.date().isoformat() == expected


def test_a_redesigned_page_is_flagged_after_three_empty_polls(tmp_path: Path,
                                                             server: ScriptedServer) -> None:
    redesigned = re.sub(rb'class="post"', b'class="card"', PAGE)
    server.routes["/blog"] = [Reply(200, PAGE, HTML)] + [
        Reply(200, redesigned + b" " * i, HTML) for i in range(3)]
    with aggregator(tmp_path, server.url("/blog")) as agg:
        agg.update()
        for _ in range(2):
            agg.update(["blog"])
            assert not [e for e in agg.events() if e.kind == "selectors-broken"]
        agg.update(["blog"])
        agg.publish()
        [event] = [e for e in agg.events() if e.kind == "selectors-broken"]
        health = {h.id: h for h in agg.status()}["blog"]
        out = agg.settings.output.dir
        assert len(agg.entries()) == 5  # nothing stored is lost
    assert "3 polls in a row" in event.detail and health.warning == event.detail
    status = json.loads((out / "status.json").read_text())
    assert [e["kind"] for e in status["events"]] == ["selectors-broken"]
    assert b"page matches its selectors no more" in (out / "status.atom").read_bytes()


@pytest.mark.parametrize(("rules", "key", "words"), [
    ({"item": "div..post"}, "scrape.item", "invalid CSS selector"),
    ({"pattern": r"^(.*) - (\d+)$"}, "scrape.pattern", "named groups"),
    ({"pattern": r"^(?P<when>.*)$"}, "scrape.pattern", "named groups"),
    ({"meta": None, "pattern": r"^(?P<date>.*)$"}, "scrape.pattern", "needs meta"),
    ({"date_format": "dd/mm"}, "scrape.date_format", "day-first, month-first"),
    ({"colour": "red"}, "scrape.colour", "unknown key"),
])
def test_bad_scrape_rules_name_the_key(tmp_path: Path, rules: dict[str, Any], key: str,
                                       words: str) -> None:
    merged = {k: v for k, v in (RULES | rules).items() if v is not None}
    config = write_config(tmp_path, [{"id": "blog", "kind": "partner",
                                      "url": "https://network.example/blog",
                                      "scrape": merged}])
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    matching = [e for e in caught.value.errors if f"sources[0].{key}" in e]
    assert matching and words in matching[0], caught.value.errors


BLOG = """<!doctype html><html lang="fr"><body>
<article><h2><a href="/a">Plan climat adopté</a></h2><p>Le conseil a voté.</p>
  <time datetime="2026-12-02">2 décembre 2026</time></article>
<article><h2><a href="/b">Nouvelle ligne de tram</a></h2><p>Ouverture en mars.</p>
  <time datetime="2026-11-28T18:30:00+01:00">28 novembre 2026</time></article>
<article><h2><a href="/c">Marché de Noël</a></h2><p>Du 1er au 24.</p>
  <time datetime="bientôt">27 novembre 2026</time></article>
</body></html>"""


def test_the_sources_add_suggestion_reads_html_time_elements(tmp_path: Path,
                                                             server: ScriptedServer) -> None:
    """The `scrape:` block `sources add` suggests, used as written: <time datetime> in ISO
    form is read, and a datetime that is no date falls back to the text a reader sees; the
    page names no charset but its HTTP header does (UTF-8)."""
    import yaml

    from aggregator.cli.commands import SCRAPE_SUGGESTION

    server.routes["/blog"] = Reply(200, BLOG.encode(), HTML)
    [source] = yaml.safe_load(SCRAPE_SUGGESTION.format(url=server.url("/blog"), id="my-source"))
    config = write_config(tmp_path, [source | {"name": "Ville"}],
                          poll={"allow_hosts": ["127.0.0.1"]})
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        assert agg.update().results[0].outcome == "updated"
        published = {e.title: e.published.isoformat() for e in agg.entries()}
    assert published == {"Plan climat adopté": "2026-12-02T00:00:00+00:00",
                         "Nouvelle ligne de tram": "2026-11-28T17:30:00+00:00",
                         "Marché de Noël": "2026-11-27T00:00:00+00:00"}


def test_sources_opml_lists_a_scraped_page_as_a_link(tmp_path: Path,
                                                     server: ScriptedServer) -> None:
    from lxml import etree

    server.routes["/blog"] = Reply(200, PAGE, HTML)
    with aggregator(tmp_path, server.url("/blog")) as agg:
        agg.update()
        agg.publish()
        opml = etree.parse(str(agg.settings.output.dir / "sources.opml"))
    [blog] = opml.findall(".//outline[@title='Network blog']")
    assert blog.get("type") == "link" and blog.get("url") == server.url("/blog")
    assert blog.get("xmlUrl") is None  # not a feed: a reader cannot subscribe to it


@pytest.mark.parametrize(("header", "body"), [
    ("text/html; charset=utf-8", "Plan climat adopté à 30 M€".encode()),
    ("text/html; charset=ISO-8859-1", "Plan climat adopté à 30 M€".encode("cp1252")),
])
def test_a_page_without_meta_charset_is_read_in_its_http_charset(header: str,
                                                                 body: bytes) -> None:
    page = b"<html><body><div class='post'><h2><a href='/a'>" + body + b"</a></h2></div>" \
        b"</body></html>"
    found = scrape_page(page, "https://city.example/blog", ScrapeSettings(
        item="div.post", title="h2 a", link="h2 a"), header)
    assert [e.title for e in found.entries] == ["Plan climat adopté à 30 M€"]
