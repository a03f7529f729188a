"""Poll the example feeds from a real HTTP server on 127.0.0.1; check the store and outputs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import DATA, FeedServer, Response, http_sources, write_config
from support.atomcheck import NS, assert_valid_atom, reread

from aggregator import Aggregator
from aggregator.config import load_settings

CATEGORIES = ["resilience", "migration", "mobility", "culture", "covid-recovery"]


@pytest.fixture(scope="module")
def polled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Aggregator]:
    """The shipped network polled once over HTTP, for the tests that only read it."""
    server = FeedServer()
    config = write_config(tmp_path_factory.mktemp("polled"), http_sources(server))
    agg = Aggregator(load_settings(config), parse_processes=0)
    report = agg.update()
    assert report.failed == 0, report
    agg.publish()
    yield agg
    agg.close()
    server.close()


def test_every_output_exists(polled: Aggregator) -> None:
    out = polled.settings.output.dir
    names = {p.name for p in out.iterdir()}
    expected = {"all.atom", "index.html", "status.json", "uncategorized.atom"}
    assert expected | {f"{c}.atom" for c in CATEGORIES} <= names


def test_store_holds_each_story_once(polled: Aggregator) -> None:
    stored = polled.store.entries(include_duplicates=True)
    assert len(stored) == 25  # every entry of the 7 feeds and the scraped page
    primaries = polled.store.entries()
    assert len(primaries) == 23  # each cross-post is one story
    plan = [e for e in primaries if "plan-resilience-inondations" in (e.link or "")]
    assert len(plan) == 1
    assert plan[0].source_id == "sousse"  # the member published first
    assert plan[0].via and "utm_source=partner" in plan[0].via[0]
    copy = [e for e in stored if e.duplicate_of == plan[0].key]
    assert [c.source_id for c in copy] == ["resilience-programme"]


def test_categories_across_languages(polled: Aggregator) -> None:
    by_title = {e.title: e for e in polled.store.entries()}
    assert by_title["Sousse adopte son plan local de résilience face aux inondations"
                    ].categories == ("resilience",)  # "Résilience, Resiliencia"
    assert by_title["Three new Go!Durban bus rapid transit routes open"].categories == (
        "mobility",)  # lower-case "mobility"
    assert set(by_title["Accueil des demandeurs d'asile : la Ville renforce son bureau "
                        "d'intégration"].categories) == {"migration", "mobility"}
    assert by_title["Notice of the June council meeting"].categories == ("uncategorized",)
    # no category in the feed: the source's default category
    assert by_title["Reactivación: ferias de empleo en las 20 localidades"].categories == (
        "covid-recovery",)
    # category_map override of the source
    assert by_title["Accueil des personnes migrantes : ouverture d'un guichet unique"
                    ].categories == ("migration",)


def test_dates(polled: Aggregator) -> None:
    by_title = {e.title: e for e in polled.store.entries()}
    guichet = by_title["Accueil des personnes migrantes : ouverture d'un guichet unique"]
    assert guichet.published == datetime(2021, 5, 27, tzinfo=UTC)  # written 27/05/2021
    undated = by_title["Journées du patrimoine de la médina"]
    # no date, last in an oldest-first feed on its first poll: just after its neighbour
    assert undated.published == guichet.published + timedelta(minutes=1)
    assert undated.first_seen > undated.published
    for e in polled.store.entries():
        assert e.published.tzinfo is not None and e.updated >= e.published


def test_every_atom_document_is_valid_and_rereads(polled: Aggregator) -> None:
    out = polled.settings.output.dir
    for path in sorted(out.glob("*.atom")):
        data = path.read_bytes()
        doc = assert_valid_atom(data)
        parsed = reread(data)
        ids = [e.findtext("a:id", namespaces=NS) for e in doc.findall("a:entry", NS)]
        assert [e.id for e in parsed.entries] == ids
        category = None if path.stem == "all" else path.stem
        stored = polled.store.entries(category=category)
        assert ids == [e.entry_id for e in stored], path.name
        for got, want in zip(parsed.entries, stored, strict=True):
            assert got.title == want.title
            assert got.get("link") == want.link
            assert datetime(*got.updated_parsed[:6], tzinfo=UTC) == want.updated
            assert datetime(*got.published_parsed[:6], tzinfo=UTC) == want.published


def test_feed_metadata_and_source(polled: Aggregator) -> None:
    data = (polled.settings.output.dir / "all.atom").read_bytes()
    doc = assert_valid_atom(data)
    links = {(x.get("rel"), x.get("type")): x.get("href") for x in doc.findall("a:link", NS)}
    assert links == {("self", "application/atom+xml"): "http://127.0.0.1:8080/all.atom",
                     ("alternate", "text/html"): "http://127.0.0.1:8080/",
                     ("alternate", "application/rss+xml"): "http://127.0.0.1:8080/all.rss",
                     ("alternate", "application/feed+json"): "http://127.0.0.1:8080/all.json"}
    newest = max(e.updated for e in polled.store.entries())
    assert doc.findtext("a:updated", namespaces=NS) == newest.isoformat()
    for entry in doc.findall("a:entry", NS):
        source = entry.find("a:source", NS)
        assert source is not None
        for name in ("id", "title", "updated"):
            assert source.findtext(f"a:{name}", namespaces=NS), name
        assert source.find("a:link", NS) is not None
    montreal = next(e for e in doc.findall("a:entry", NS)
                    if "relance-arteres" in e.find("a:link", NS).get("href"))
    assert montreal.find("a:source/a:id", NS).text == "https://montreal.example/nouvelles"


def test_published_html_is_sanitized(polled: Aggregator) -> None:
    out = polled.settings.output.dir
    for name in ("all.atom", "index.html"):
        text = (out / name).read_text(encoding="utf-8")
        assert "<script" not in text and "&lt;script" not in text
        assert "onerror" not in text


def test_entries_per_feed_limit(tmp_path: Path, feed_server: FeedServer) -> None:
    config = write_config(tmp_path, http_sources(feed_server),
                          output={"dir": "feeds", "entries_per_feed": 5})
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.update()
        agg.publish()
        doc = assert_valid_atom((agg.settings.output.dir / "all.atom").read_bytes())
        titles = [e.findtext("a:title", namespaces=NS) for e in doc.findall("a:entry", NS)]
        assert titles == [e.title for e in agg.store.entries()[:5]]


def test_polling_twice_changes_nothing(tmp_path: Path, feed_server: FeedServer) -> None:
    config = write_config(tmp_path, http_sources(feed_server))
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.update()
        agg.publish()
        out = agg.settings.output.dir
        before = {p.relative_to(out): (p.stat().st_mtime_ns, p.read_bytes())
                  for p in out.rglob("*") if p.is_file()}
        store_before = agg.store.entries(include_duplicates=True)
        requests_before = len(feed_server.requests)
        report = agg.update()
        changed = agg.publish()
    assert report.new == 0 and report.updated == 0
    assert {r.outcome for r in report.results} == {"not_modified"}
    # conditional GET: every request carried the stored ETag and got a 304
    second = feed_server.requests[requests_before:]
    assert all(h.get("If-None-Match", "").endswith('-v1"') for _, h in second)
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        assert agg.store.entries(include_duplicates=True) == store_before
    # only the health reports may change (they record the attempt time, to the second);
    # every feed and news page is untouched
    assert {p.name for p in changed} <= {"sources.html", "status.json"}
    assert len(before) > 30  # every feed, per category and per language
    for p in out.rglob("*"):
        if p.is_file() and p.name not in ("status.json", "sources.html"):
            assert (p.stat().st_mtime_ns, p.read_bytes()) == before[p.relative_to(out)], p


def test_a_cycle_of_304s_renders_only_the_status_outputs(
        tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from aggregator.publish import feeds as publish
    rendered: list[str] = []
    real = publish.render_atom
    monkeypatch.setattr(publish, "render_atom", lambda spec, *a, **k: (
        rendered.append(spec.name), real(spec, *a, **k))[1])
    config = write_config(tmp_path, http_sources(feed_server))
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.update()
        agg.publish()
        assert len(rendered) >= 28  # all, 5 categories, uncategorized; each in 3 languages
        rendered.clear()
        agg.update()  # every source answers 304
        changed = agg.publish()
        assert rendered == [] and {p.name for p in changed} <= {"sources.html", "status.json"}
        (agg.settings.output.dir / "index.html").unlink()  # an output dir emptied under us
        agg.publish()
        assert len(rendered) >= 28 and (agg.settings.output.dir / "index.html").exists()


def test_changed_entry_is_updated_in_place(tmp_path: Path, feed_server: FeedServer) -> None:
    sources = http_sources(feed_server)
    config = write_config(tmp_path, sources)
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.update()
        route = feed_server.routes["/durban-member-rss1.xml"]
        feed_server.routes["/durban-member-rss1.xml"] = Response(200, route.body.replace(
            b"Three new Go!Durban", b"Four new Go!Durban"), {"ETag": '"v2"'})
        report = agg.update(["durban"])
        entries = agg.entries(source_id="durban")
    assert report.results[0].changed == 1 and report.results[0].new == 0
    assert len(entries) == 3
    assert any(e.title.startswith("Four new Go!Durban") for e in entries)


def test_failing_sources_do_not_stop_the_others(tmp_path: Path,
                                                feed_server: FeedServer) -> None:
    sources = http_sources(feed_server)
    feed_server.routes["/garbage.xml"] = Response(200, b"\x00\x01 this is not a feed {",
                                                  {"Content-Type": "text/html"})
    sources += [
        {"id": "missing", "name": "Missing", "kind": "member", "url": feed_server.url("/gone")},
        {"id": "garbage", "name": "Garbage", "kind": "member",
         "url": feed_server.url("/garbage.xml")},
        {"id": "refused", "name": "Refused", "kind": "partner",
         "url": "http://127.0.0.1:9/feed.xml"},  # discard port: nothing listens
    ]
    config = write_config(tmp_path, sources)
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        report = agg.update()
        agg.publish()
        health = {h.id: h for h in agg.status()}
    results = {r.source_id: r for r in report.results}
    assert report.failed == 3
    assert results["missing"].error == "fetch failed: HTTP 404 Not Found"
    assert results["garbage"].error.startswith("parse failed: not a feed")
    assert results["refused"].error.startswith("fetch failed: connection failed")
    assert report.new == 25  # every good source was stored
    assert health["missing"].http_status == 404 and health["missing"].failures == 1
    assert health["missing"].state == "backing off"
    assert health["sousse"].state == "active" and health["sousse"].entries == 3
    status = json.loads((agg.settings.output.dir / "status.json").read_text())
    by_id = {s["id"]: s for s in status["sources"]}
    assert by_id["refused"]["last_error"].startswith("fetch failed: connection failed")
    assert by_id["garbage"]["failures"] == 1


def test_path_sources_of_the_shipped_layout(examples_dir: Path) -> None:
    from conftest import SHIPPED_SOURCES
    config = write_config(examples_dir, SHIPPED_SOURCES)
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        report = agg.update()
        agg.publish()
        assert report.failed == 0 and report.new == 25
        barcelona = agg.entries(source_id="barcelona")
    # a relative link in a local file resolves against the feed's own link
    assert "https://ajuntament.barcelona.example/noticias/supermanzanas-movilidad" in {
        e.link for e in barcelona}


def test_big_feeds_parse_in_worker_processes(tmp_path: Path, feed_server: FeedServer) -> None:
    items = "".join(  # 80 items of 4.5 KB: above INLINE_BELOW
        f"<item><title>Story {i}</title><link>https://big.example/{i}</link>"
        f"<description>{'Long text. ' * 400}</description>"
        f"<pubDate>Mon, 03 May 2021 09:{i % 60:02d}:00 GMT</pubDate></item>" for i in range(80))
    body = f'<rss version="2.0"><channel><title>Big</title>{items}</channel></rss>'.encode()
    for n in (1, 2):
        feed_server.routes[f"/big{n}.xml"] = Response(200, body.replace(b"big.example",
                                                                        f"big{n}.example".encode()))
    sources = [{"id": f"big{n}", "name": f"Big {n}", "kind": "member",
                "url": feed_server.url(f"/big{n}.xml")} for n in (1, 2)]
    config = write_config(tmp_path, sources)
    with Aggregator(load_settings(config), parse_processes=2) as agg:
        report = agg.update()
        assert agg.parsers.started  # the process pool was used
        assert report.new == 160 and report.failed == 0
        big2 = agg.store.entries(source_id="big2", include_duplicates=True)
        assert len(big2) == 80 and big2[0].link.startswith("https://big2.example/")
        assert _parser(agg, "big2") == "lxml"  # the fast path, in a worker


def test_small_feeds_parse_inline_and_the_pool_never_starts(
        tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.routes["/small.xml"] = Response(200, b'<rss version="2.0"><channel><title>S'
                                                b"</title><item><title>One</title><link>"
                                                b"https://s.example/1</link></item></channel>"
                                                b"</rss>")
    feed_server.routes["/old.xml"] = Response(200, (DATA / "real" / "atom" /
                                                    "atom03-stakeventures.xml").read_bytes())
    sources = [{"id": name, "name": name, "kind": "member",
                "url": feed_server.url(f"/{name}.xml")} for name in ("small", "old")]
    with Aggregator(load_settings(write_config(tmp_path, sources)), parse_processes=2) as agg:
        report = agg.update()
        assert report.new > 1 and report.failed == 0
        assert not agg.parsers.started
        assert _parser(agg, "small") == "lxml"
        assert _parser(agg, "old") == "feedparser (root element feed)"  # Atom 0.3
        shown = {h.id: h.parser for h in agg.status()}  # status --json, status.json
        assert shown == {"small": "lxml", "old": "feedparser (root element feed)"}


def _parser(agg: Aggregator, source_id: str) -> str | None:
    state = agg.store.source_state(source_id)
    assert state is not None
    return state.parser
