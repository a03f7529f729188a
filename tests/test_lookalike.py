"""Dedup on a look-alike network (tests/support/lookalike.py), through the whole poll path.

Precision first: no two different stories may end up as one, however alike their template;
and every genuine cross-post (a partner's republished copy) must be merged."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
from conftest import write_config
from support import lookalike

from aggregator import Aggregator
from aggregator.config import load_settings


@pytest.fixture(scope="module")
def polled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Aggregator, list[lookalike.Feed]]:
    tmp = tmp_path_factory.mktemp("lookalike")
    feeds = lookalike.network()
    lookalike.write(feeds, tmp / "feeds-in")
    sources = [{"id": f.source_id, "name": f.source_id, "path": f"feeds-in/{f.file_name}",
                "kind": f.kind, "language": f.language} for f in feeds]
    config = write_config(tmp, sources, hub={
        "title": "Look-alike hub", "base_url": "http://127.0.0.1:8080/",
        "id": "tag:hub.test,2026:", "languages": ["en", "fr", "es", "pt"],
        "contact": "mailto:test@example.org"})
    now = lookalike.NOW
    agg = Aggregator(load_settings(config), clock=lambda: now, parse_processes=0)
    report = agg.update()
    assert report.failed == 0
    return agg, feeds


@pytest.mark.slow
def test_no_look_alikes_merged_and_every_cross_post_merged(
        polled: tuple[Aggregator, list[lookalike.Feed]]) -> None:
    agg, feeds = polled
    truth = lookalike.truth(feeds)
    stored = agg.store.entries(include_duplicates=True)
    assert len(stored) == len(truth) >= 5000  # nothing lost, not one entry folded away
    by_story: dict[str, set[str]] = defaultdict(set)  # stored story -> true stories
    stored_story: dict[str, set[str]] = defaultdict(set)  # true story -> stored stories
    for e in stored:
        true = truth[(e.source_id, e.guid or "")]
        by_story[e.story].add(true)
        stored_story[true].add(e.story)
    wrongly_merged = {s: t for s, t in by_story.items() if len(t) > 1}
    assert wrongly_merged == {}
    copies_per_story = Counter(truth[(e.source_id, e.guid or "")] for e in stored)
    assert sum(n > 1 for n in copies_per_story.values()) > 500  # cross-posts to find
    missed = {t: s for t, s in stored_story.items() if len(s) > 1}
    assert missed == {}
    members = {f.source_id for f in feeds if f.kind == "member"}
    primaries = agg.store.entries()
    assert len(primaries) == len({truth[(e.source_id, e.guid or "")] for e in stored})
    assert all(p.source_id in members for p in primaries)  # the member published first
    copies = agg.store.copies_by_source()
    assert sum(copies.values()) == len(stored) - len(primaries)
