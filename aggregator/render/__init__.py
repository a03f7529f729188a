"""Pure renderers: data in, deterministic bytes out. No clock, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

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
