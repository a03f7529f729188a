"""Caps on what one fetch can bring in: entries, and the size of every field (config `ingest`).

Applied after parsing and before anything is stored, so a feed cannot flood the store or the
published documents. Truncated HTML is sanitized again, which closes any tag the cut left
open.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from aggregator.config import IngestSettings
from aggregator.models import EntryData, ParsedFeed
from aggregator.sanitize import clean_html

_OLDEST = datetime.min.replace(tzinfo=UTC)


def cap_feed(feed: ParsedFeed, limits: IngestSettings) -> ParsedFeed:
    """The newest ``max_entries`` entries (undated ones keep their feed order), each capped."""
    entries = list(feed.entries)
    if len(entries) > limits.max_entries:
        ranked = sorted(range(len(entries)), key=lambda i: (-_stamp(entries[i]), i))
        keep = sorted(ranked[:limits.max_entries])
        entries = [entries[i] for i in keep]
    return replace(feed, entries=tuple(cap_entry(e, limits) for e in entries))


def _stamp(e: EntryData) -> float:
    when = e.published or e.updated
    return when.timestamp() if when else _OLDEST.timestamp()


def cap_entry(e: EntryData, limits: IngestSettings) -> EntryData:
    words = tuple(w[:limits.max_category_length].strip()
                  for w in e.raw_categories[:limits.max_categories])
    return replace(
        e, title=_cut(e.title, limits.max_title),
        summary=_cut_html(e.summary, limits.max_summary),
        content=_cut_html(e.content, limits.max_content),
        raw_categories=tuple(w for w in words if w), authors=e.authors[:10])


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _cut_html(html: str | None, limit: int) -> str | None:
    """At most ``limit`` characters of well-formed HTML (sanitizing closes the cut tags)."""
    if html is None or len(html) <= limit:
        return html
    cut = limit
    while True:
        out = clean_html(html[:cut]) + "…"
        if len(out) <= limit or cut == 0:
            return out
        cut = max(0, cut - (len(out) - limit))
