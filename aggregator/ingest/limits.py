"""Caps on what one fetch can bring in: entries, and the size of every field (config `ingest`).

Applied after parsing and before anything is stored, so a feed cannot flood the store or the
published documents. Truncated HTML is sanitized again, which closes any tag the cut left
open. A URL is never cut (a cut URL leads elsewhere): one over the cap is dropped, and an
id over it becomes its digest, so the entry keeps one stable identity.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime

from aggregator.config import IngestSettings
from aggregator.models import EntryData, FeedMeta, ParsedFeed
from aggregator.sanitize import clean_html

_OLDEST = datetime.min.replace(tzinfo=UTC)


def cap_feed(feed: ParsedFeed, limits: IngestSettings) -> ParsedFeed:
    """The newest ``max_entries`` entries (undated ones keep their feed order), each capped."""
    entries = list(feed.entries)
    if len(entries) > limits.max_entries:
        ranked = sorted(range(len(entries)), key=lambda i: (-_stamp(entries[i]), i))
        keep = sorted(ranked[:limits.max_entries])
        entries = [entries[i] for i in keep]
    return replace(feed, meta=cap_meta(feed.meta, limits),
                   entries=tuple(cap_entry(e, limits) for e in entries))


def cap_meta(meta: FeedMeta, limits: IngestSettings) -> FeedMeta:
    return replace(meta, id=_cut_id(meta.id, limits.max_url),
                   title=_cut(meta.title, limits.max_title),
                   link=_url(meta.link, limits.max_url),
                   self_link=_url(meta.self_link, limits.max_url),
                   hub=_url(meta.hub, limits.max_url),
                   rights=meta.rights and _cut(meta.rights, limits.max_title),
                   author=meta.author and _cut(meta.author, limits.max_author),
                   language=meta.language and meta.language[:35])  # BCP 47's longest tags


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
        raw_categories=tuple(w for w in words if w),
        authors=tuple(_cut(a, limits.max_author) for a in e.authors[:10]),
        guid=_cut_id(e.guid, limits.max_url), link=_url(e.link, limits.max_url),
        enclosures=tuple(x for x in e.enclosures[:20] if len(x.url) <= limits.max_url),
        image=e.image if e.image is None or len(e.image.url) <= limits.max_url else None,
        language=e.language and e.language[:35])


def over_caps(e: EntryData, limits: IngestSettings) -> list[str]:
    """The fields of ``e`` its caps change (the member's report names them)."""
    urls = [e.link, *(x.url for x in e.enclosures), e.image.url if e.image else None]
    found = {"id": len(e.guid or "") > limits.max_url,
             "link or media URL": any(len(u or "") > limits.max_url for u in urls),
             "author": any(len(a) > limits.max_author for a in e.authors),
             "title": len(e.title) > limits.max_title,
             "summary": len(e.summary or "") > limits.max_summary,
             "content": len(e.content or "") > limits.max_content,
             "category": any(len(w) > limits.max_category_length for w in e.raw_categories)}
    return [name for name, over in found.items() if over]


def _url(url: str | None, limit: int) -> str | None:
    return url if url is None or len(url) <= limit else None


def _cut_id(guid: str | None, limit: int) -> str | None:
    if guid is None or len(guid) <= limit:
        return guid
    return "urn:sha256:" + hashlib.sha256(guid.encode("utf-8", "surrogatepass")).hexdigest()


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
