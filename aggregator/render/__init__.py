"""Pure renderers: data in, deterministic bytes out. No clock, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from aggregator.models import StoredEntry
from aggregator.sanitize import title_or_opening

# The `updated` of a feed with no entries yet: fixed, so empty feeds are byte-stable too.
EMPTY_FEED_UPDATED = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FeedSpec:
    """One published feed: its file name, identity and links."""

    name: str
    title: str
    feed_id: str
    self_url: str
    alternate_url: str
    language: str
    category: str | None = None
    only_language: str | None = None  # per-language feeds: entries in this language only
    history: tuple[tuple[str, str], ...] = ()  # RFC 5005 links: (rel, href)
    archive: bool = False  # an archive document (fh:archive), not the current feed


UNTITLED = "(untitled)"
_TAG_LIKE = re.compile(r"<\s*/?\s*[A-Za-z!?][^<>]*>")


def display_title(e: StoredEntry, plain: bool = False) -> str:
    """The one title rule for every output: the entry's title, else the opening of its text,
    else "(untitled)". ``plain`` also drops tag-like text, for formats whose titles some
    readers render as HTML (RSS, JSON Feed)."""
    title = title_or_opening(e.title.strip(), e.summary, e.content)
    if plain:
        title = " ".join(_TAG_LIKE.sub(" ", title).split())
    return title or UNTITLED
