"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1): the same feed as the Atom one, with the
same ids, order and dates. Our own code: no library is needed to write JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from aggregator.config import Settings
from aggregator.config.taxonomy import Taxonomy
from aggregator.models import StoredEntry
from aggregator.render import FeedSpec, display_title
from aggregator.render.atom import FORMATS, format_url
from aggregator.sanitize import plain_text


def render_json_feed(spec: FeedSpec, entries: Sequence[StoredEntry], settings: Settings,
                     taxonomy: Taxonomy, source_names: Mapping[str, str]) -> bytes:
    doc: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": spec.title,
        "home_page_url": spec.alternate_url,
        "feed_url": format_url(spec, "json"),
        "description": settings.hub.description_in(spec.only_language),
        "language": spec.language,
        "authors": [{"name": settings.hub.title_in(spec.only_language),
                     "url": settings.hub.base_url}],
        # JSON Feed has no field for other formats: an extension carries them, and the
        # spec wants an extension to be an object
        "_alternates": {"about": settings.hub.base_url,
                        "formats": [{"type": t, "url": format_url(spec, f)}
                                    for f, t in FORMATS.items() if f != "json"]},
        "items": [_item(e, spec, taxonomy, source_names) for e in entries],
    }
    if settings.hub.websub_hub:
        doc["hubs"] = [{"type": "WebSub", "url": settings.hub.websub_hub}]
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _item(e: StoredEntry, spec: FeedSpec, taxonomy: Taxonomy,
          source_names: Mapping[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = {"id": e.entry_id, "title": display_title(e, plain=True)}
    if e.link:
        item["url"] = e.link
    item["content_html"] = e.content or e.summary or ""
    if e.summary:
        item["summary"] = plain_text(e.summary, True)
    item["date_published"] = e.published.isoformat()
    item["date_modified"] = e.updated.isoformat()
    item["authors"] = [{"name": n} for n in e.authors or (source_names.get(e.source_id,
                                                                          e.source_id),)]
    item["tags"] = [taxonomy.label(c, spec.language) for c in e.categories
                    if c in taxonomy.order]
    if e.language:
        item["language"] = e.language
    if e.enclosures:
        item["attachments"] = [{"url": x.url, "mime_type": x.type or "application/octet-stream",
                                **({"size_in_bytes": x.length} if x.length else {})}
                               for x in e.enclosures]
    if e.via:
        item["_via"] = {"urls": list(e.via)}  # an extension is an object (JSON Feed 1.1)
    item["_source"] = {"title": e.origin.title or source_names.get(e.source_id, e.source_id),
                       "home_page_url": e.origin.link, "feed_url": e.origin.self_link}
    return item
