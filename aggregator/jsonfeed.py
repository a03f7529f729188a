"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) -> ParsedFeed.

The released feedparser returns nothing for JSON Feed, so this is our own reader. Wrong types
are parse errors naming the field (``items[3].tags: expected a list of strings``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from .dates import parse_loose
from .exceptions import ParseError
from .models import Enclosure, EntryData, FeedMeta, ParsedFeed
from .sanitize import (
    clean_html,
    clean_token,
    language_tag,
    mime_type,
    plain_text,
    safe_url,
    text_to_html,
    title_or_opening,
)

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
    return _Reader(http_base).feed(doc, version)


class _Reader:
    def __init__(self, http_base: str | None) -> None:
        self.base = http_base

    def feed(self, doc: dict[str, Any], version: str) -> ParsedFeed:
        title = _string(doc, "title", "")
        items = doc.get("items")
        if not isinstance(items, list):
            raise ParseError("items: expected a list")
        home = safe_url(_string(doc, "home_page_url"), self.base)
        self.base = self.base or home or safe_url(_string(doc, "feed_url"))
        language = language_tag(_string(doc, "language"))
        feed_url = safe_url(_string(doc, "feed_url"), self.base)
        authors = _authors(doc, "")
        meta = FeedMeta(id=feed_url or home, title=plain_text(title or "", True), link=home,
                        language=language, self_link=feed_url,
                        author=authors[0] if authors else None)
        entries = tuple(self.item(item, f"items[{i}]", language)
                        for i, item in enumerate(items))
        return ParsedFeed(format=version, meta=meta, entries=entries)

    def item(self, item: Any, where: str, language: str | None) -> EntryData:
        if not isinstance(item, dict):
            raise ParseError(f"{where}: expected an object")
        ident = item.get("id")
        if ident is not None and not isinstance(ident, (str, int)):
            raise ParseError(f"{where}.id: expected a string")
        html = _string(item, "content_html", where=where)
        text = _string(item, "content_text", where=where)
        summary = _string(item, "summary", where=where)
        summary_html = text_to_html(summary) if summary else None
        content = (clean_html(html, self.base) if html else
                   text_to_html(text) if text else None) or None
        return EntryData(
            guid=clean_token(ident),
            link=safe_url(_string(item, "url", where=where) or
                          _string(item, "external_url", where=where), self.base),
            title=title_or_opening(plain_text(_string(item, "title", "", where) or "", True),
                                   summary_html, content),
            summary=summary_html,
            content=content,
            authors=_authors(item, where),
            published=_date(item, "date_published", where),
            updated=_date(item, "date_modified", where),
            raw_categories=tuple(plain_text(t, True) for t in _strings(item, "tags", where)),
            language=language_tag(_string(item, "language", where=where)) or language,
            enclosures=self.attachments(item, where))

    def attachments(self, item: dict[str, Any], where: str) -> tuple[Enclosure, ...]:
        found = item.get("attachments") or []
        if not isinstance(found, list):
            raise ParseError(f"{where}.attachments: expected a list")
        out = []
        for i, a in enumerate(found):
            if not isinstance(a, dict):
                raise ParseError(f"{where}.attachments[{i}]: expected an object")
            url = safe_url(_string(a, "url", where=f"{where}.attachments[{i}]"), self.base)
            size = a.get("size_in_bytes")
            if url:
                out.append(Enclosure(url, mime_type(_string(a, "mime_type")),
                                     size if isinstance(size, int) and size >= 0 else None))
        return tuple(out)


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
    names = [plain_text(a.get("name") or "", True) for a in found
             if isinstance(a, dict) and isinstance(a.get("name"), str)]
    return tuple(dict.fromkeys(n for n in names if n))


def _date(item: dict[str, Any], key: str, where: str) -> datetime | None:
    value = _string(item, key, where=where)
    if not value:
        return None
    try:  # RFC 3339, as the spec says
        parsed = datetime.fromisoformat(value.strip())
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        pass
    try:  # RFC 822, as some generators write
        return parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError, IndexError):
        return parse_loose(value)
