"""The real-world corpus (tests/data/real, see its SOURCES.md) through the full path:
served from a loopback HTTP server, polled, stored, published."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import FeedServer
from support.atomcheck import NS, assert_valid_atom, reread
from support.corpus import GOLDEN, corpus_files, observed, poll_corpus, raw_count
from support.htmlcheck import problems

from aggregator import Aggregator

pytestmark = pytest.mark.slow  # 178 real feeds through the whole path

FILES = corpus_files()
GOLD: dict[str, Any] = json.loads(GOLDEN.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    s = FeedServer()
    yield s
    s.close()


@pytest.fixture(scope="module")
def polled(tmp_path_factory: pytest.TempPathFactory, server: FeedServer
           ) -> Iterator[Aggregator]:
    agg = poll_corpus(tmp_path_factory.mktemp("corpus"), server)
    yield agg
    agg.close()


@pytest.fixture(scope="module")
def seen(polled: Aggregator, server: FeedServer) -> dict[str, Any]:
    return observed(polled, server.base)


def test_the_corpus_is_broad() -> None:
    dirs = {f.split("/")[0] for f in FILES}
    assert dirs == {"atom", "rss2", "rdf", "jsonfeed", "multilingual", "messy"}
    assert len(FILES) >= 150 and set(GOLD) == set(FILES)


@pytest.mark.parametrize("rel", FILES)
def test_golden(seen: dict[str, Any], rel: str) -> None:
    assert seen[rel] == GOLD[rel]


@pytest.mark.parametrize("rel", [f for f in FILES if raw_count(f) is not None])
def test_no_entry_is_lost(polled: Aggregator, seen: dict[str, Any], rel: str) -> None:
    # counted without our parser: every item/entry element, up to the ingest cap
    expected = min(raw_count(rel) or 0, polled.settings.ingest.max_entries)
    assert seen[rel].get("entries") == expected, seen[rel]


def test_only_unreadable_files_fail(seen: dict[str, Any]) -> None:
    failed = sorted(rel for rel, v in seen.items() if "error" in v)
    assert failed == ["jsonfeed/scriptingnews-rss-in-json-not-jsonfeed.json",
                      "messy/allthis-truncated.json",
                      "messy/dylanharris-double-xml-decl-prefixed-rss.xml",
                      "messy/osm-pl-wordpress-unclosed-cdata.xml",  # truncated mid-CDATA
                      "messy/reuters-truncated-document.xml"]


def test_every_published_document_is_valid(polled: Aggregator) -> None:
    out = polled.settings.output.dir
    documents = sorted(out.glob("*.atom"))
    assert len(documents) >= 8
    total = 0
    for path in documents:
        data = path.read_bytes()
        doc = assert_valid_atom(data)
        parsed = reread(data)
        assert len(parsed.entries) == len(doc.findall("a:entry", NS))
        total += len(parsed.entries) if path.name == "all.atom" else 0
    assert total == len(polled.store.entries()) > 3000


def test_published_html_is_harmless(polled: Aggregator) -> None:
    doc = assert_valid_atom((polled.settings.output.dir / "all.atom").read_bytes())
    checked = 0
    for entry in doc.findall("a:entry", NS):
        for field in ("a:summary", "a:content"):
            text = entry.findtext(field, namespaces=NS)
            if text:
                assert problems(text) == [], (entry.findtext("a:id", namespaces=NS), text[:300])
                checked += 1
        for link in entry.findall("a:link", NS):
            assert link.get("href", "").startswith(("http://", "https://"))
    assert checked > 2000
    # the articles' HTML is on the month pages (the rivers show cards of plain text)
    summaries = []
    for month in sorted((polled.settings.output.dir / "month").glob("*.html")):
        page = month.read_text(encoding="utf-8")
        summaries += [re.split(r'</div>\n(?:<p class="more">|</article>)', part)[0]
                      for part in page.split('<div class="summary">')[1:]]
    assert len(summaries) > 3000
    for summary in summaries:
        assert problems(summary) == [], summary[:300]
    cards = (polled.settings.output.dir / "index.html").read_text(encoding="utf-8")
    texts = re.findall(r'<p class="summary">([^<]*)</p>', cards)
    assert texts and all(problems(t) == [] for t in texts)


def test_titles_are_plain_text(polled: Aggregator) -> None:
    # HTML-typed titles lose their markup and have entities decoded exactly once
    by_title = {e.title for e in polled.store.entries()}
    assert not [t for t in by_title if "<b>" in t or "<em>" in t or "&amp;" in t]


def test_dates_are_aware_and_plausible(polled: Aggregator) -> None:
    from datetime import UTC, datetime
    for e in polled.store.entries():
        assert e.published.tzinfo is not None
        assert datetime(1995, 1, 1, tzinfo=UTC) <= e.published <= e.first_seen


def test_relative_links_resolved(seen: dict[str, Any]) -> None:
    for rel in ("rss2/hugo-relative-item-links.xml", "atom/tpm-relative-links.atom",
                "rss2/jekyll-relative-links.xml"):
        links = [s["link"] for s in seen[rel]["samples"]]
        assert links and all(link.startswith(("http://", "https://")) for link in links), rel
