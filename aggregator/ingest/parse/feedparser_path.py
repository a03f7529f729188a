"""Feed documents -> ParsedFeed. The only module that imports feedparser.

feedparser is always given a file-like object (never a str or raw bytes, which it may treat
as a URL or a path) and the response headers, so relative links resolve against the final
URL. Its own sanitizer is off: sanitize.py is the single sanitizer. DOCTYPEs (and so entity
declarations) are removed first (xmlguard.py). JSON Feed goes to jsonfeed.py: the format is
sniffed from the body, not taken from the file name or Content-Type. This module only says
what the document holds (normalize.RawFeed); normalize.py makes entries of it.
"""

from __future__ import annotations

import io
from typing import Any

import feedparser

from aggregator.dates import from_struct
from aggregator.errors import ParseError
from aggregator.ingest.normalize import (
    RawDate,
    RawEnclosure,
    RawEntry,
    RawFeed,
    RawImage,
    RawText,
    normalize,
    person,
)
from aggregator.ingest.parse.charset import undeclared_as_utf8
from aggregator.ingest.parse.jsonfeed import parse_json_feed
from aggregator.ingest.parse.xmlguard import UnsafeDocument, cut_short, make_safe
from aggregator.models import ParsedFeed
from aggregator.sanitize import safe_url

_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")


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
        return normalize(_to_raw(raw, http_base))
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


def _date(d: Any, key: str) -> RawDate | None:
    raw, parsed = d.get(key), d.get(f"{key}_parsed")
    return RawDate(raw, from_struct(parsed)) if raw or parsed else None


def _to_raw(raw: Any, http_base: str | None) -> RawFeed:
    cause = raw.get("bozo_exception")
    if not raw.get("version") and not raw.entries:
        raise ParseError(f"not a feed ({cause})" if cause else "not a feed: no RSS or Atom found")
    if raw.get("bozo") and not raw.entries:  # broken, and nothing could be recovered
        raise ParseError(f"no entry could be read: {cause}")
    feed = raw.feed
    base = http_base or safe_url(feed.get("link"))
    atom = str(raw.get("version") or "").startswith("atom")
    return RawFeed(
        format=raw.get("version") or "unknown", base=base,
        entries=tuple(_entry(e, atom) for e in raw.entries),
        id=feed.get("id"), title=_text(feed, "title"), link=feed.get("link"),
        self_link=next((x.get("href") for x in feed.get("links") or []
                        if x.get("rel") == "self" and safe_url(x.get("href"), base)), None),
        updated=_date(feed, "updated"), language=feed.get("language"),
        rights=_text(feed, "rights"), author=feed.get("author"), ttl=feed.get("ttl"),
        hub=next((x.get("href") for x in feed.get("links") or [] if x.get("rel") == "hub"),
                 None))


def _entry(e: Any, atom: bool) -> RawEntry:
    contents = e.get("content") or []
    summary_detail = e.get("summary_detail")
    if contents and e.get("summary") == contents[0].get("value"):
        summary_detail = contents[0]  # feedparser's copy of the content keeps its type
    return RawEntry(
        guid=e.get("id"), link=e.get("link"), title=_text(e, "title", atom),
        summary=_body(summary_detail, e.get("summary")),
        content=_body(contents[0], contents[0].get("value")) if contents else None,
        authors=_authors(e),
        # Atom 0.3 <created> and dcterms:created stand in when nothing says "published"
        published=_date(e, "published") or _date(e, "created"),
        updated=_date(e, "updated"),
        categories=tuple(t.get("term") or t.get("label") or "" for t in e.get("tags") or []),
        language=next((lang for key in ("title_detail", "summary_detail")
                       if (lang := (e.get(key) or {}).get("language"))), None),
        enclosures=tuple(RawEnclosure(x.get("href"), x.get("type"), x.get("length"))
                         for x in e.get("links") or [] if x.get("rel") == "enclosure"),
        images=_images(e))


def _images(e: Any) -> tuple[RawImage, ...]:
    """media:thumbnail first (made to be shown beside a title), then media:content images."""
    thumbs = [RawImage(x.get("url"), x.get("width"), x.get("height"))
              for x in e.get("media_thumbnail") or [] if isinstance(x, dict)]
    media = [RawImage(x.get("url"), x.get("width"), x.get("height"),
                      x.get("medium") or x.get("type"))
             for x in e.get("media_content") or [] if isinstance(x, dict)]
    return tuple(thumbs + media)


def _authors(e: Any) -> tuple[str, ...]:
    """Several authors by their names; one from the text as written (feedparser's own
    split of "Name (email)" cuts some addresses short)."""
    names = tuple(a.get("name") or "" for a in e.get("authors") or [])
    if len(names) > 1 or not e.get("author"):
        return names
    detail, raw = e.get("author_detail") or {}, e["author"]
    if detail.get("name") and raw == f"{detail['name']} ({detail.get('email')})":
        return (detail["name"],)  # Atom's name and email, joined by feedparser
    return (person(raw),)


def _text(d: Any, name: str, atom: bool = False) -> RawText | None:
    """A title-like text. Atom type="text" is plain outright (angle brackets are text);
    elsewhere markup is removed when declared HTML or when it looks like tags (RSS titles
    are often escaped HTML: <b>, even <script>)."""
    value = d.get(name)
    if not value:
        return None
    declared = (d.get(f"{name}_detail") or {}).get("type", "text/plain") in _HTML_TYPES
    return RawText(value, "html" if declared else "text" if atom else "guess")


def _body(detail: Any, value: str | None) -> RawText | None:
    if not value:
        return None
    kind = (detail or {}).get("type", "text/html")
    return RawText(value, "html" if kind in _HTML_TYPES else "text")
