"""The hostile corpus (tests/data/hostile, written by generate.py there) in one cycle, next to
two good feeds, through the full path. Each case has its exact expected outcome."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from conftest import DATA, EXAMPLES, FeedServer, Response, write_config
from support.atomcheck import NS, assert_valid_atom, reread
from support.htmlcheck import problems
from support.scripted import ScriptedServer

from aggregator import Aggregator
from aggregator.config import load_settings
from aggregator.models import StoredEntry

HOSTILE = DATA / "hostile"
NOW = "first seen"  # placeholder: the entry's published date is its first-seen time


@dataclass(frozen=True)
class Expect:
    error: str | None = None  # start of the source's recorded error
    count: int | None = None
    title: str | None = None  # of the entry with link ``link`` (or the only entry)
    summary: str | None = None
    link: str | None = "https://hostile.example/1"
    published: str | None = "2021-05-03T09:30:00+00:00"


EXPECTED = {
    "billion-laughs.xml": Expect(count=1, title="Laughs &lol9;", summary="Body"),
    "comment-hides-doctype.xml": Expect(count=1, title="Hidden &lol9;", summary="Body"),
    "utf16-hidden-doctype.xml": Expect(count=1, title="Wide &lol9; café", summary="Body"),
    "utf16be-no-bom.xml": Expect(count=1, title="Big end &x;", summary="Body"),
    "quadratic-blowup.xml": Expect(count=1, title=("Blowup " + "&big;" * 400)[:499] + "…"),
    "xxe-file.xml": Expect(count=1, title="Secret &xxe;", summary="Body"),
    "xxe-http.xml": Expect(count=1, title="Remote &xxe;", summary="Body"),
    "xxe-parameter.xml": Expect(count=1, title="Param", summary="Body"),
    "external-dtd.xml": Expect(count=1, title="External DTD", summary="Body"),
    "xinclude.xml": Expect(count=1, title="XInclude", summary="Body"),
    "control-chars.xml": Expect(count=1, title="Bell and unit end",
                                summary="C1 \u2026next \u203a and NUL-ref"),
    "invalid-bytes.xml": Expect(count=1, title="Bad ÿ bytes", summary="Body"),
    "wrong-charset.xml": Expect(count=1, title="Café déclaré latin-1", summary="Body"),
    "script-svg-iframe.xml": Expect(
        count=1, title="Title bold", link=None,
        summary='<p>Hi</p>b<a rel="noopener noreferrer">js</a><a rel="noopener noreferrer">'
                'data</a><a rel="noopener noreferrer">mixed</a><a rel="noopener noreferrer">sp'
                '</a><img><a rel="noopener noreferrer">vb</a><a href="https://ok.example/" '
                'rel="noopener noreferrer">ok</a>'),
    "absurd-dates.xml": Expect(count=4, title="Epoch", link="https://hostile.example/a",
                               published=NOW),
    "huge-fields.xml": Expect(count=1, title="T" * 499 + "…"),
    "many-entries.xml": Expect(count=100, title="Entry 119", link="https://hostile.example/119",
                               published="2021-05-03T23:59:00+00:00", summary="Body"),
    "json-hostile-content.json": Expect(count=1, title="J", link=None, published=NOW),
    "json-wrong-types.json": Expect(error="parse failed: items[0].title: expected a string"),
    "json-items-not-list.json": Expect(error="parse failed: items: expected a list"),
    "json-deep.json": Expect(error="parse failed: JSON nested too deeply"),
    "not-a-feed.html": Expect(error="parse failed: not a feed"),
}


def sid(name: str) -> str:
    return name.replace(".", "-")


@pytest.fixture(scope="module")
def listener() -> Iterator[ScriptedServer]:
    s = ScriptedServer()
    yield s
    s.close()


@pytest.fixture(scope="module")
def cycle(tmp_path_factory: pytest.TempPathFactory, listener: ScriptedServer
          ) -> Iterator[tuple[Aggregator, dict[str, str | None]]]:
    server = FeedServer()
    sources = []
    for name in EXPECTED:
        body = (HOSTILE / name).read_bytes().replace(b"PORT", str(listener.port).encode())
        server.routes[f"/{name}"] = Response(200, body, {"Content-Type": "application/xml"})
        sources.append({"id": sid(name), "kind": "partner", "url": server.url(f"/{name}")})
    for good in ("durban-member-rss1.xml", "montreal-member-atom.xml"):
        url = server.serve_file(f"/{good}", EXAMPLES / good)
        sources.append({"id": good.split("-")[0], "kind": "member", "url": url})
    config = write_config(tmp_path_factory.mktemp("hostile"), sources,
                          output={"dir": "feeds", "entries_per_feed": 1000})
    agg = Aggregator(load_settings(config), parse_processes=2)
    errors = {r.source_id: r.error for r in agg.update().results}
    agg.publish()
    yield agg, errors
    agg.close()
    server.close()


@pytest.mark.parametrize("name", list(EXPECTED))
def test_outcome(cycle: tuple[Aggregator, dict[str, str | None]], name: str) -> None:
    agg, errors = cycle
    want = EXPECTED[name]
    entries = agg.store.entries(source_id=sid(name), include_duplicates=True)
    if want.error:
        assert (errors[sid(name)] or "").startswith(want.error), errors[sid(name)]
        assert entries == []
        return
    assert errors[sid(name)] is None
    assert len(entries) == want.count
    entry = one(entries, want.link)
    assert entry.title == want.title
    if want.summary is not None:
        assert entry.summary == want.summary
    published = entry.first_seen.isoformat() if want.published == NOW else want.published
    assert entry.published.isoformat() == published


def one(entries: list[StoredEntry], link: str | None) -> StoredEntry:
    if len(entries) == 1:
        return entries[0]
    (found,) = [e for e in entries if e.link == link]
    return found


def test_good_feeds_in_the_same_batch_are_updated(
        cycle: tuple[Aggregator, dict[str, str | None]]) -> None:
    agg, errors = cycle
    assert errors["durban"] is None and errors["montreal"] is None
    assert len(agg.entries(source_id="durban")) == 3
    assert len(agg.entries(source_id="montreal")) == 3


def test_nothing_was_fetched_on_behalf_of_a_document(listener: ScriptedServer,
                                                     cycle: object) -> None:
    assert listener.connections == 0  # no external entity, DTD or XInclude was resolved


def test_nothing_expanded(cycle: tuple[Aggregator, dict[str, str | None]]) -> None:
    agg, _ = cycle
    out = agg.settings.output.dir / "all.atom"
    assert out.stat().st_size < 1_500_000  # 40 KB of entity bombs did not grow into MBs
    text = out.read_text(encoding="utf-8")
    assert "lollollol" not in text and "B" * 1000 not in text
    assert "root:" not in text and "/bin/" not in text  # no /etc/passwd


def test_published_documents_are_valid_and_harmless(
        cycle: tuple[Aggregator, dict[str, str | None]]) -> None:
    agg, _ = cycle
    for path in agg.settings.output.dir.glob("*.atom"):
        data = path.read_bytes()
        doc = assert_valid_atom(data)
        reread(data)
        for entry in doc.findall("a:entry", NS):
            for field in ("a:summary", "a:content", "a:title"):
                text = entry.findtext(field, namespaces=NS) or ""
                assert problems(text) == [], text[:200]
            for link in entry.findall("a:link", NS):
                assert link.get("href", "").startswith(("http://", "https://"))


def test_enclosures_keep_only_http(cycle: tuple[Aggregator, dict[str, str | None]]) -> None:
    agg, _ = cycle
    (entry,) = agg.entries(source_id=sid("script-svg-iframe.xml"))
    assert [x.url for x in entry.enclosures] == ["https://hostile.example/a.mp3"]
    assert entry.enclosures[0].length == 123 and entry.enclosures[0].type == "audio/mpeg"
    doc = assert_valid_atom((agg.settings.output.dir / "all.atom").read_bytes())
    enclosures = [link.attrib for link in doc.iterfind("a:entry/a:link[@rel='enclosure']", NS)]
    assert enclosures == [{"rel": "enclosure", "href": "https://hostile.example/a.mp3",
                           "type": "audio/mpeg", "length": "123"}]


def test_caps(cycle: tuple[Aggregator, dict[str, str | None]]) -> None:
    agg, _ = cycle
    # (most hostile items share one link, so they are merged: look at every copy)
    (entry,) = agg.store.entries(source_id=sid("huge-fields.xml"), include_duplicates=True)
    limits = agg.settings.ingest
    assert len(entry.title) == limits.max_title
    assert entry.summary is not None and len(entry.summary) <= limits.max_summary + 1
    assert entry.summary.endswith("</p>…")
    assert len(entry.raw_categories) == limits.max_categories
    many = agg.entries(source_id=sid("many-entries.xml"))
    # entry i is dated 2021-05-03 (i % 24):(i % 60); the newest 100 are kept, ties by position
    newest = sorted(range(1000), key=lambda i: (-(i % 24 * 60 + i % 60), i))[:100]
    assert {e.link for e in many} == {f"https://hostile.example/{i}" for i in newest}


def test_first_seen_dates_are_stable(cycle: tuple[Aggregator, dict[str, str | None]]) -> None:
    agg, _ = cycle
    before = {e.key: e.published for e in agg.entries(source_id=sid("absurd-dates.xml"))}
    agg.update([sid("absurd-dates.xml")])
    after = {e.key: e.published for e in agg.entries(source_id=sid("absurd-dates.xml"))}
    assert before == after
