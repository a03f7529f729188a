"""One story once, in the right categories and languages: the whole path."""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, SHIPPED_SOURCES, FeedServer, Response, shipped_categories
from conftest import write_config as write
from hypothesis import given, settings
from hypothesis import strategies as st
from support.atomcheck import NS, assert_valid_atom
from support.cli import run_cli

from aggregator import Aggregator
from aggregator.config import load_settings
from aggregator.ingest.language import LanguageChooser
from aggregator.store import open_store

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def aggregator(root: Path, sources: list[dict[str, Any]], **kw: Any) -> Aggregator:
    config = write(root, sources, **kw)
    return Aggregator(load_settings(config), store=open_store(None), parse_processes=0,
                      clock=lambda: NOW)


def test_per_language_outputs(examples_dir: Path) -> None:
    with aggregator(examples_dir, SHIPPED_SOURCES) as agg:
        agg.update()
        agg.publish()
        out = agg.settings.output.dir
        seen = {}
        for lang in ("en", "fr", "es"):
            for name in ("all", "resilience", "migration", "uncategorized"):
                doc = assert_valid_atom((out / lang / f"{name}.atom").read_bytes())
                assert doc.get("{http://www.w3.org/XML/1998/namespace}lang") == lang
                langs = {e.get("{http://www.w3.org/XML/1998/namespace}lang").split("-")[0]
                         for e in doc.findall("a:entry", NS)}
                assert langs <= {lang}
            seen[lang] = len(assert_valid_atom((out / lang / "all.atom").read_bytes())
                             .findall("a:entry", NS))
        assert sum(seen.values()) == len(agg.store.entries()) == 23
        es = assert_valid_atom((out / "es" / "resilience.atom").read_bytes())
        assert es.findtext("a:title", namespaces=NS).endswith("Resiliencia (es)")
        labels = {c.get("label") for c in es.iterfind("a:entry/a:category", NS)}
        assert labels == {"Resiliencia"}
        assert {c.get("term") for c in es.iterfind("a:entry/a:category", NS)} == {"resilience"}


def test_language_detection_is_restricted_to_hub_languages() -> None:
    chooser = LanguageChooser(("en", "fr", "es"), "en")
    assert chooser.detect("Le conseil municipal adopte le plan local de résilience") == "fr"
    assert chooser.detect("El ayuntamiento aprueba el plan de movilidad sostenible") == "es"
    assert chooser.detect("The council adopts its sustainable mobility plan") == "en"
    # Portuguese is not a hub language: the nearest hub language is chosen
    assert chooser.detect("A prefeitura aprova o plano de mobilidade urbana") in {"es", "fr"}
    assert LanguageChooser(("fr",), "fr").detect("anything at all") == "fr"


def test_language_from_entry_feed_source_then_detection(tmp_path: Path,
                                                        feed_server: FeedServer) -> None:
    body = (b'<rss version="2.0"><channel><title>T</title><link>https://t.example/</link>'
            b'<item><title>Le conseil municipal adopte son budget participatif</title>'
            b'<link>https://t.example/1</link><description>Les habitants ont choisi quarante '
            b'projets de quartier.</description></item></channel></rss>')
    feed_server.routes["/nolang.xml"] = Response(200, body)
    feed_server.routes["/es.xml"] = Response(200, body.replace(b"<title>T</title>",
                                                                b"<title>T</title><language>es"
                                                                b"</language>"))
    sources = [{"id": "nolang", "kind": "member", "url": feed_server.url("/nolang.xml")},
               {"id": "configured", "kind": "member", "url": feed_server.url("/nolang.xml"),
                "language": "en"},
               {"id": "feedlang", "kind": "member", "url": feed_server.url("/es.xml"),
                "language": "en"}]
    with aggregator(tmp_path, sources) as agg:
        agg.update()
        got = {e.source_id: e.language for e in agg.store.entries(include_duplicates=True)}
    assert got == {"nolang": "fr", "configured": "en", "feedlang": "es"}


def test_fallback_category_is_configurable(examples_dir: Path) -> None:
    categories = [*shipped_categories(),
                  {"id": "other", "labels": {"en": "Other news", "fr": "Autres"},
                   "fallback": True}]
    with aggregator(examples_dir, SHIPPED_SOURCES, categories=categories) as agg:
        agg.update()
        agg.publish()
        out = agg.settings.output.dir
        council = [e for e in agg.store.entries() if e.title.startswith("Notice of the June")]
        assert council[0].categories == ("other",)
        assert (out / "other.atom").is_file() and not (out / "uncategorized.atom").exists()
        doc = assert_valid_atom((out / "fr" / "other.atom").read_bytes())
        assert doc.findtext("a:title", namespaces=NS).endswith("Autres (fr)")


def test_retention_prunes_and_tombstones_keep_entries_out(examples_dir: Path) -> None:
    retention = {"max_per_category": 2}
    with aggregator(examples_dir, SHIPPED_SOURCES, retention=retention) as agg:
        agg.update()
        kept = agg.store.entries()
        # every entry kept is among the 2 newest of at least one of its categories
        for e in kept:
            assert any(e in agg.store.entries(category=c)[:2] for c in e.categories), e.title
        stones = agg.store.tombstones()
        assert stones and len(kept) < 19
        agg.update()  # the feeds still list the pruned entries: they stay out
        assert agg.store.entries() == kept and agg.store.tombstones() == stones


@pytest.mark.slow  # polls a network day after day until entries age out
def test_retention_by_age_bounds_the_store(tmp_path: Path, feed_server: FeedServer) -> None:
    clock = [NOW]

    def item(i: int) -> str:
        when = (NOW + timedelta(days=i)).strftime("%a, %d %b %Y %H:%M:%S GMT")
        return (f"<item><title>Day {i}</title><link>https://d.example/{i}</link>"
                f"<pubDate>{when}</pubDate></item>")

    config = write(tmp_path, [{"id": "d", "kind": "member", "url": feed_server.url("/d")}],
                   retention={"max_age": "10d", "max_tombstones": 50})
    with Aggregator(load_settings(config), store=open_store(None), parse_processes=0,
                    clock=lambda: clock[0]) as agg:
        for day in range(0, 60):
            clock[0] = NOW + timedelta(days=day, hours=1)
            window = "".join(item(i) for i in range(max(0, day - 20), day + 1))
            feed_server.routes["/d"] = Response(200, f'<rss version="2.0"><channel><title>D'
                                                     f"</title>{window}</channel></rss>".encode())
            agg.update()
            assert len(agg.store.entries(include_duplicates=True)) <= 11
            assert len(agg.store.tombstones()) <= 50
        titles = {e.title for e in agg.store.entries()}
    assert titles == {f"Day {i}" for i in range(50, 60)}  # the last 10 days


def test_broken_ids_switch_to_links_and_show_in_status(tmp_path: Path,
                                                       feed_server: FeedServer) -> None:
    def feed(version: int) -> bytes:
        items = "".join(f"<item><title>Story {i}</title><link>https://b.example/{i}</link>"
                        f"<guid>gen-{version}-{i}</guid></item>" for i in range(5))
        return f'<rss version="2.0"><channel><title>B</title>{items}</channel></rss>'.encode()

    sources = [{"id": "b", "kind": "member", "url": feed_server.url("/b")}]
    with aggregator(tmp_path, sources) as agg:
        for version in range(4):
            feed_server.routes["/b"] = Response(200, feed(version))
            agg.update()
        (health,) = agg.status()
        assert len(agg.store.entries(include_duplicates=True)) == 5  # not 20
        assert health.identity is not None and "ids change between fetches" in health.identity


def _cycle_in_order(order: tuple[int, ...], sources: list[dict[str, Any]]
                    ) -> tuple[list[Any], dict[str, bytes]]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(EXAMPLES, root / "examples")
        with aggregator(root, sources) as agg:
            for i in order:  # one source per cycle, in this order
                agg.update([sources[i]["id"]])
            agg.publish()
            files = {str(p.relative_to(agg.settings.output.dir)): p.read_bytes()
                     for p in sorted(agg.settings.output.dir.rglob("*.atom"))
                     if p.name != "status.atom"}
            stored = agg.store.entries(include_duplicates=True)
            return stored, files


@pytest.mark.slow  # a property test: twelve whole runs of the shipped network
@settings(max_examples=12, deadline=None)
@given(st.permutations(range(len(SHIPPED_SOURCES))))
def test_any_ingest_order_gives_the_same_store_and_bytes(order: list[int]) -> None:
    baseline = _cycle_in_order(tuple(range(len(SHIPPED_SOURCES))), SHIPPED_SOURCES)
    assert _cycle_in_order(tuple(order), SHIPPED_SOURCES) == baseline


@pytest.mark.parametrize("twice", [1, 2])
def test_ingesting_twice_changes_nothing(examples_dir: Path, twice: int) -> None:
    with aggregator(examples_dir, SHIPPED_SOURCES) as agg:
        agg.update()
        agg.publish()
        before = agg.store.entries(include_duplicates=True)
        for _ in range(twice):
            report = agg.update()
            assert report.new == 0 and report.updated == 0
        assert agg.publish() == []  # same clock: not even status.json changes
        assert agg.store.entries(include_duplicates=True) == before


@pytest.mark.slow  # all six orders of a whole poll: exhaustive, like the property tests
def test_every_order_of_three_cross_posting_sources(tmp_path: Path) -> None:
    subset = [s for s in SHIPPED_SOURCES if s["id"] in ("sousse", "resilience-programme",
                                                        "migration-partnership")]
    results = {_cycle_in_order(order, subset)[0].__repr__()
               for order in itertools.permutations(range(3))}
    assert len(results) == 1


def test_explain_and_unmapped_words_from_the_cli(examples_dir: Path) -> None:
    config = write(examples_dir, SHIPPED_SOURCES)

    def cli(*args: str) -> str:
        done = run_cli(*args, "--config", str(config))
        assert done.returncode == 0, done.stderr
        return done.stdout

    cli("poll")
    info = json.loads(cli("explain", "--json",
                          "http://sousse.example/actualites/plan-resilience-inondations/"))
    assert info["source"] == "sousse" and info["story"]["primary"] == info["key"]
    reasons = [m["reason"] for m in info["story"]["members"]]
    assert reasons[0] == "primary" and reasons[1].startswith("same link as sousse:")
    assert {"category": "resilience", "why": "category word 'Résilience'"} in \
        info["own_categories"]
    text = cli("explain", info["key"])
    assert "resilience-programme" in text and "keyword rule" in text
    unmapped = json.loads(cli("status", "--categories", "--json"))
    assert unmapped["bogota"] == {"Medio ambiente": 1}
    assert "bogota: Medio ambiente (1)" in cli("status", "--categories")
