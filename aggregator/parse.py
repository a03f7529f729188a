"""Feed documents -> ParsedFeed. The only module that imports feedparser.

feedparser is always given a file-like object (never a str or raw bytes, which it may treat
as a URL or a path) and the response headers, so relative links resolve against the final
URL. Its own sanitizer is off: sanitize.py is the single sanitizer. DOCTYPEs (and so entity
declarations) are removed first (xmlguard.py). JSON Feed goes to jsonfeed.py: the format is
sniffed from the body, not taken from the file name or Content-Type.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any

import feedparser

from .charset import undeclared_as_utf8
from .dates import from_struct, ours_first, parse_loose
from .exceptions import ParseError
from .jsonfeed import parse_json_feed
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
from .xmlguard import UnsafeDocument, cut_short, make_safe

_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")
_MARKUP = re.compile(r"<[A-Za-z/!]")


def sniff(body: bytes) -> str:
    """'json' or 'xml', from the first meaningful byte: names and Content-Types lie."""
    head = body[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return "json" if head.startswith((b"{", b"[")) else "xml"


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse one feed body; every failure becomes a ParseError naming the cause."""
    # A local file has no base URL of its own: relative links then resolve against the
    # feed's own link instead of a file: URL that nobody could follow.
    http_base = safe_url(url)
    headers = {"content-type": content_type or "application/xml"}
    if http_base:
        headers["content-location"] = http_base
    try:
        if sniff(body) == "json":
            return parse_json_feed(body, http_base)
        body = undeclared_as_utf8(body, content_type)
        raw = feedparser.parse(io.BytesIO(make_safe(body)), response_headers=headers,
                               sanitize_html=False, resolve_relative_uris=True)
        if raw.get("bozo") and (root := cut_short(body)) is not None:
            raise ParseError(f"document cut short: <{root}> never closes (the body ends "
                             "before the document does)")
        return _to_parsed(raw, http_base)
    except ParseError:
        raise
    except UnsafeDocument as e:
        raise ParseError(str(e)) from e
    except RecursionError as e:
        raise ParseError("document nested too deeply") from e
    except MemoryError as e:
        raise ParseError("document needs more memory than a parse may use") from e
    except Exception as e:  # feedparser can raise on bad input instead of setting bozo
        raise ParseError(f"parser failed: {type(e).__name__}: {e}") from e


def _date(d: Any, key: str) -> datetime | None:
    """A date field of feedparser's result, read by us first where feedparser misreads."""
    raw = d.get(key)
    if ours_first(raw):
        return parse_loose(raw)
    return from_struct(d.get(f"{key}_parsed")) or parse_loose(raw)


def _to_parsed(raw: Any, http_base: str | None) -> ParsedFeed:
    cause = raw.get("bozo_exception")
    if not raw.get("version") and not raw.entries:
        raise ParseError(f"not a feed ({cause})" if cause else "not a feed: no RSS or Atom found")
    if raw.get("bozo") and not raw.entries:  # broken, and nothing could be recovered
        raise ParseError(f"no entry could be read: {cause}")
    feed = raw.feed
    base = http_base or safe_url(feed.get("link"))
    meta = FeedMeta(
        id=clean_token(feed.get("id")),
        title=_text(feed, "title") or "",
        link=safe_url(feed.get("link"), base),
        updated=_date(feed, "updated"),
        language=language_tag(feed.get("language")),
        self_link=next((safe_url(x.get("href"), base) for x in feed.get("links") or []
                        if x.get("rel") == "self" and safe_url(x.get("href"), base)), None),
        rights=_text(feed, "rights") or None,
        author=plain_text(feed.get("author") or "", True) or None)
    atom = str(raw.get("version") or "").startswith("atom")
    entries = tuple(_entry(e, base, meta.language, atom) for e in raw.entries)
    return ParsedFeed(format=raw.get("version") or "unknown", meta=meta, entries=entries,
                      ttl_minutes=_int(feed.get("ttl")))


def _entry(e: Any, base: str | None, feed_language: str | None, atom: bool = False
           ) -> EntryData:
    contents = e.get("content") or []
    summary_detail = e.get("summary_detail")
    if contents and e.get("summary") == contents[0].get("value"):
        summary_detail = contents[0]  # feedparser's copy of the content keeps its type
    summary = _html(summary_detail, e.get("summary"), base)
    content = _html(contents[0], contents[0].get("value"), base) if contents else None
    if content and summary and content == summary:
        summary = None
    title = title_or_opening(_text(e, "title", atom), summary, content)
    return EntryData(
        guid=clean_token(e.get("id")),
        link=safe_url(e.get("link"), base),
        title=title,
        summary=summary,
        content=content,
        authors=_authors(e),
        # Atom 0.3 <created> and dcterms:created stand in when nothing says "published"
        published=_date(e, "published") or _date(e, "created"),
        updated=_date(e, "updated"),
        raw_categories=tuple(_categories(e)),
        language=_language(e) or feed_language,
        enclosures=_enclosures(e, base))


def _text(d: Any, name: str, atom: bool = False) -> str:
    """Plain text; markup is removed when declared HTML or when it looks like tags (RSS
    titles are often escaped HTML: <b>, even <script>)."""
    value = d.get(name)
    if not value:
        return ""
    detail = d.get(f"{name}_detail") or {}
    declared = detail.get("type", "text/plain") in _HTML_TYPES
    if atom and not declared:  # Atom says type="text" outright: angle brackets are text
        return plain_text(value, False)
    return plain_text(value, declared or bool(_MARKUP.search(value)))


def _html(detail: Any, value: str | None, base: str | None) -> str | None:
    if not value:
        return None
    kind = (detail or {}).get("type", "text/html")
    cleaned = clean_html(value, base) if kind in _HTML_TYPES else text_to_html(value)
    return cleaned or None


def _authors(e: Any) -> tuple[str, ...]:
    names = [plain_text(a.get("name") or "", True) for a in e.get("authors") or []]
    if not any(names) and e.get("author"):
        names = [plain_text(e["author"], True)]
    return tuple(dict.fromkeys(n for n in names if n))


def _categories(e: Any) -> list[str]:
    words = [plain_text(t.get("term") or t.get("label") or "", True) for t in e.get("tags") or []]
    return list(dict.fromkeys(w for w in words if w))


def _enclosures(e: Any, base: str | None) -> tuple[Enclosure, ...]:
    out: dict[str, Enclosure] = {}
    for link in e.get("links") or []:
        if link.get("rel") != "enclosure":
            continue
        url = safe_url(link.get("href"), base)
        length = str(link.get("length") or "").strip()
        if url and url not in out:
            out[url] = Enclosure(url, mime_type(link.get("type")),
                                 int(length) if length.isdigit() else None)
    return tuple(out.values())


def _language(e: Any) -> str | None:
    for key in ("title_detail", "summary_detail"):
        lang = language_tag((e.get(key) or {}).get("language"))
        if lang:
            return lang
    return None


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None
