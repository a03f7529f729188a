"""The plan marks categories and languages apart, so a small publish can touch a listing
that holds none of the changes (French entries of one category, English of another: the
English river of the first is touched). Such a listing's pages and feeds are digested, not
rendered, and what is on disk is what a whole build makes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import shipped_categories, write_config

from aggregator import Aggregator
from aggregator.config import load_settings
from aggregator.models import FeedMeta, StoredEntry
from aggregator.publish import feeds as publish
from aggregator.publish import site

T0 = datetime(2021, 3, 1, 12, 0, tzinfo=UTC)
A, B = (c["id"] for c in shipped_categories()[:2])


def entry(n: int, category: str, language: str, text: str = "") -> StoredEntry:
    when = T0 + timedelta(hours=n)
    key = f"s0:{n}"
    return StoredEntry(key=key, source_id="s0", entry_id=key, title=f"Story {n}",
                       link=f"https://s.example/{n}", canonical_link=None, published=when,
                       updated=when, first_seen=when, content_hash=key + text,
                       summary=f"<p>Story {n}{text}</p>", categories=(category,),
                       own_categories=(category,), language=language, story=key,
                       origin=FeedMeta(title="S"))


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The feeds (render_atom's names) and river pages (tree and name) rendered."""
    names: list[str] = []
    atom, sheet = publish.render_atom, site.SiteBuild.sheet
    monkeypatch.setattr(publish, "render_atom", lambda spec, *a, **k: (
        names.append(spec.name), atom(spec, *a, **k))[1])
    monkeypatch.setattr(site.SiteBuild, "sheet", lambda self, tree, river, s, *a, **k: (
        names.append(tree.prefix + s.name), sheet(self, tree, river, s, *a, **k))[1])
    return names


def outputs(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*")
            if p.is_file() and p.suffix in (".atom", ".rss", ".html")
            and p.name not in ("status.atom", "sources.html")}


def test_a_touched_listing_without_changes_is_not_rendered(
        tmp_path: Path, rendered: list[str]) -> None:
    config = write_config(tmp_path, [{"id": "s0", "name": "Source", "kind": "member",
                                      "url": "http://127.0.0.1:9/s.xml"}],
                          output={"dir": "feeds", "entries_per_feed": 2})
    out = load_settings(config).output.dir
    first = [entry(n, A, "en") for n in range(5)] + [entry(n, B, "fr") for n in range(5, 10)]
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.store.apply(first, [])
        agg.publish()
        for written in ([entry(10, A, "en"), entry(11, B, "fr")],  # new arrivals
                        [entry(10, A, "en", " retold"), entry(11, B, "fr", " retold")]):
            rendered.clear()
            agg.store.apply(written, [])
            agg.publish()
            assert {A, B, f"en/{A}", f"fr/{B}", f"category/{A}.html",
                    f"en/category/{A}.html", f"fr/category/{B}.html"} <= set(rendered)
            untouched = {f"fr/{A}", f"en/{B}", f"fr/category/{A}.html",
                         f"en/category/{B}.html", f"archive/fr/{A}/1.atom",
                         f"fr/category/{A}/page/1.html"}
            assert not untouched & set(rendered)  # touched by the plan, but unchanged
            small = outputs(out)
            agg.publish(full=True)
            assert outputs(out) == small  # what a whole build makes
            assert untouched & set(rendered)  # which renders them
