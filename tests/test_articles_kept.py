"""Rendered cards are kept per page language up to a bound, the least recently used
dropped first: the site build walks river by river, each in every tree, so a card is
shown again soon (the same river in another tree of its language) or not for long."""

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


def test_past_the_bound_the_least_recently_used_card_goes_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "ARTICLES_KEPT", 30)
    kept = pages._Articles()
    stories = [entry(n) for n in range(5)]
    for n, e in enumerate(stories[:3]):  # 10 characters each: three fit
        assert kept.get("en", (n,), e) is None
        kept.put("en", (n,), e, f"<p>{n:06d}</p>"[:10])
    assert kept.get("en", (0,), stories[0]) is not None  # used again: now the most recent
    kept.put("en", (3,), stories[3], "<p>000003<")  # the fourth pushes out the oldest used
    hits = [kept.get("en", (n,), e) is not None for n, e in enumerate(stories)]
    assert hits == [True, False, True, True, False]
    assert kept.size == 30


def test_another_language_or_another_entry_is_not_served_a_kept_card() -> None:
    kept = pages._Articles()
    story = entry(1)
    assert kept.get("en", (1,), story) is None
    kept.put("en", (1,), story, "<article>en</article>")
    assert kept.get("en", (1,), story) == "<article>en</article>"
    assert kept.get("en", (1,), entry(1)) is None  # the same key, a newer entry object
    assert kept.get("fr", (1,), story) is None  # a French page: rendered again
    kept.put("fr", (1,), story, "<article>fr</article>")
    assert kept.get("en", (1,), story) == "<article>en</article>"  # both kept, side by side
    assert kept.get("fr", (1,), story) == "<article>fr</article>"
