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
        assert kept.get("en", (e.key,)) is None
        kept.put("en", (e.key,), f"<p>{n:06d}</p>"[:10])
    assert kept.get("en", ("k0",)) is not None  # used again: now the most recent
    kept.put("en", ("k3",), "<p>000003<")  # the fourth pushes out the least recently used
    hits = [kept.get("en", (e.key,)) is not None for e in stories]
    assert hits == [True, False, True, True, False]
    assert kept.size == 30


def test_another_language_or_another_version_is_not_served_a_kept_card() -> None:
    """pages.article knows a card by its entry's key and content hash (and how the page
    shows it): a changed entry, or a page in another language, gets its own."""
    from dataclasses import replace

    from aggregator.render.site.i18n import words
    from aggregator.render.site.pages import PageEntry, environment

    pages.forget_articles()
    story = entry(1)

    def card(e: StoredEntry, language: str = "en") -> str:
        env = environment(language)
        return env.from_string("{{ article(item) }}").render(
            item=PageEntry(e, "Source", (), card=True), home="../", language=language,
            fmt=words(language))

    first = card(story)
    assert "Story 1" in first and card(story) == first
    retold = replace(story, title="Story retold", content_hash="other")
    assert "Story retold" in card(retold)  # another version: made again
    assert "Story 1" in card(story)  # the first still kept beside it
    french = card(story, "fr")  # the same entry on a French page: its own card
    assert "mars" in french and "mars" not in first
