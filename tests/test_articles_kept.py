"""Rendered articles are kept per page language up to a bound, and none is dropped before
the language changes: the site build walks river after river in full, and a cache that
dropped the least recently used would miss each article just before its next use."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aggregator.models import StoredEntry
from aggregator.render.site import pages

WHEN = datetime(2026, 3, 1, tzinfo=UTC)


def entry(n: int) -> StoredEntry:
    return StoredEntry(key=f"k{n}", source_id="s", entry_id=f"k{n}", title=f"Story {n}",
                       link=None, canonical_link=None, published=WHEN, updated=WHEN,
                       first_seen=WHEN, content_hash=str(n))


def test_the_first_articles_stay_once_the_bound_is_reached(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "ARTICLES_KEPT", 30)
    kept = pages._Articles()
    stories = [entry(n) for n in range(5)]
    for n, e in enumerate(stories):  # 10 characters each: the first three fit
        assert kept.get("en", (n,), e) is None
        kept.put((n,), e, f"<p>{n:06d}</p>"[:10])
    for scan in range(2):  # scan after scan, the same three hit
        hits = [kept.get("en", (n,), e) is not None for n, e in enumerate(stories)]
        assert hits == [True, True, True, False, False], scan


def test_another_language_or_another_entry_is_not_served_a_kept_article() -> None:
    kept = pages._Articles()
    story = entry(1)
    assert kept.get("en", (1,), story) is None
    kept.put((1,), story, "<article>en</article>")
    assert kept.get("en", (1,), story) == "<article>en</article>"
    assert kept.get("en", (1,), entry(1)) is None  # the same key, a newer entry object
    assert kept.get("fr", (1,), story) is None  # a French page: rendered again
    assert kept.size == 0
