"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) -> ParsedFeed.

The released feedparser returns nothing for JSON Feed, so this is our own reader. Wrong types
are parse errors naming the field (``items[3].tags: expected a list of strings``). What the
items hold goes to the one normalizer (normalize.py), like every other format. One bad item
is left out and named (ReadNotes.refused), the others are read; so is an item with no
title, no link and no content. A feed whose every item is bad is a parse error.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from aggregator.errors import ParseError
from aggregator.ingest.normalize import (
    RawDate,
    RawEnclosure,
    RawEntry,
    RawFeed,
    RawImage,
    RawText,
    normalize,
)
from aggregator.models import ParsedFeed
from aggregator.sanitize import safe_url

VERSIONS = {"https://jsonfeed.org/version/1": "json10",
            "https://jsonfeed.org/version/1.1": "json11"}


def parse_json_feed(body: bytes, http_base: str | None) -> ParsedFeed:
    try:
        doc = json.loads(body, strict=False)  # raw tabs/newlines in strings: common
    except RecursionError as e:
        raise ParseError("JSON nested too deeply") from e
    except (ValueError, UnicodeDecodeError) as e:
        raise ParseError(f"invalid JSON: {e}") from e
    if not isinstance(doc, dict):
        raise ParseError("not a feed: JSON document is not an object")
    # some generators write http:// in the version URL; the meaning is the same
    declared = str(doc.get("version", "")).rstrip("/").replace("http://", "https://")
    version = VERSIONS.get(declared)
    if version is None:
        raise ParseError("not a feed: JSON document is not a JSON Feed "
                         f"(version {doc.get('version')!r})")
    reader = _Reader(http_base)
    parsed = normalize(reader.feed(doc, version))
    if not reader.refused:
        return parsed
    return replace(parsed, notes=replace(parsed.notes, refused=len(reader.refused),
                                         refused_why=tuple(reader.refused[:5])))


class _Reader:
    """Checks the types the spec gives (naming the field) and says what the items hold."""

    def __init__(self, http_base: str | None) -> None:
        self.base = http_base
        self.refused: list[str] = []  # why each left-out item was

    def feed(self, doc: dict[str, Any], version: str) -> RawFeed:
        items = doc.get("items")
        if not isinstance(items, list):
            raise ParseError("items: expected a list")
        home = _string(doc, "home_page_url")
        feed_url = _string(doc, "feed_url")
        base = self.base or safe_url(home) or safe_url(feed_url)
        authors = _authors(doc, "")
        entries = tuple(e for i, item in enumerate(items)
                        if (e := self.item_or_none(item, f"items[{i}]")) is not None)
        if items and not entries:
            raise ParseError(self.refused[0])
        return RawFeed(
            format=version, base=base, entries=entries,
            id=safe_url(feed_url, base) or safe_url(home, base),
            title=RawText(_string(doc, "title", "") or "", "html"), link=home,
            self_link=feed_url, language=_string(doc, "language"), hub=_hub(doc),
            author=authors[0] if authors else None)

    def item_or_none(self, item: Any, where: str) -> RawEntry | None:
        """The item, or None (and why, in ``refused``) when it cannot be read or is empty."""
        try:
            entry = self.item(item, where)
        except ParseError as e:
            self.refused.append(str(e))
            return None
        if not ((entry.title and entry.title.value.strip()) or entry.link or entry.content
                or entry.summary):
            self.refused.append(f"{where}: no title, no url and no content")
            return None
        return entry

    def item(self, item: Any, where: str) -> RawEntry:
        if not isinstance(item, dict):
            raise ParseError(f"{where}: expected an object")
        ident = item.get("id")
        if ident is not None and not isinstance(ident, (str, int)):
            raise ParseError(f"{where}.id: expected a string")
        html = _string(item, "content_html", where=where)
        text = _string(item, "content_text", where=where)
        summary = _string(item, "summary", where=where)
        return RawEntry(
            guid=ident,
            link=_string(item, "url", where=where) or _string(item, "external_url", where=where),
            title=RawText(_string(item, "title", "", where) or "", "html"),
            summary=RawText(summary) if summary else None,  # plain text, says the spec
            content=RawText(html, "html") if html else RawText(text) if text else None,
            authors=_authors(item, where),
            published=_date(item, "date_published", where),
            updated=_date(item, "date_modified", where),
            categories=tuple(_strings(item, "tags", where)),
            language=_string(item, "language", where=where),
            enclosures=self.attachments(item, where),
            images=tuple(RawImage(url) for key in ("image", "banner_image")
                         if (url := _string(item, key, where=where))))

    def attachments(self, item: dict[str, Any], where: str) -> tuple[RawEnclosure, ...]:
        found = item.get("attachments") or []
        if not isinstance(found, list):
            raise ParseError(f"{where}.attachments: expected a list")
        out = []
        for i, a in enumerate(found):
            if not isinstance(a, dict):
                raise ParseError(f"{where}.attachments[{i}]: expected an object")
            out.append(RawEnclosure(_string(a, "url", where=f"{where}.attachments[{i}]"),
                                    _string(a, "mime_type"), a.get("size_in_bytes")))
        return tuple(out)


def _hub(doc: dict[str, Any]) -> str | None:
    """JSON Feed ``hubs``: the first of type WebSub."""
    hubs = doc.get("hubs")
    for h in hubs if isinstance(hubs, list) else []:
        if isinstance(h, dict) and str(h.get("type", "")).lower() == "websub":
            url = h.get("url")
            return url if isinstance(url, str) else None
    return None


def _string(d: dict[str, Any], key: str, default: str | None = None, where: str = ""
            ) -> str | None:
    value = d.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        path = f"{where}.{key}" if where else key
        raise ParseError(f"{path}: expected a string, got {type(value).__name__}")
    return value


def _strings(d: dict[str, Any], key: str, where: str) -> list[str]:
    value = d.get(key) or []
    if isinstance(value, str):  # "a,b" written where a list belongs: the intent is clear
        return [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ParseError(f"{where}.{key}: expected a list of strings")
    return value


def _authors(item: dict[str, Any], where: str) -> tuple[str, ...]:
    found = item.get("authors")
    if found is None:
        found = [item["author"]] if isinstance(item.get("author"), dict) else []
    if not isinstance(found, list):
        raise ParseError(f"{where}.authors: expected a list")
    return tuple(a["name"] for a in found if isinstance(a, dict) and isinstance(a.get("name"), str))


def _date(item: dict[str, Any], key: str, where: str) -> RawDate | None:
    value = _string(item, key, where=where)
    return RawDate(value) if value else None
