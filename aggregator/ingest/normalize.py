"""The one normalizer: a format adapter's raw record -> ParsedFeed (our clean entries).

Format adapters (parse/feedparser_path.py for feedparser's RSS/Atom, parse/jsonfeed.py for
JSON Feed, parse/fast_path.py) only say what the document holds, unsanitized: ``RawFeed`` /
``RawEntry``, with each text marked as plain, HTML or "guess" (RSS titles are often escaped
HTML). Every rule that makes an entry ours lives here, once, for every format: sanitizing
(nh3 through sanitize.py), URL checks and resolution, dates (dates.read_date), the title
fallback (sanitize.title_or_opening), de-duplicated authors, categories and enclosures.
Per-feed caps (limits.cap_feed) come after, in ingest, where the settings are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from html import unescape as html_unescape
from typing import Literal

from aggregator.dates import ours_first, read_date
from aggregator.models import Enclosure, EntryData, FeedMeta, Image, ParsedFeed, ReadNotes
from aggregator.sanitize import (
    clean_html,
    clean_token,
    language_tag,
    mime_type,
    plain_text,
    safe_url,
    text_to_html,
    title_or_opening,
)

TextKind = Literal["text", "html", "guess"]  # guess: HTML if it has tags or references
_MARKUP = re.compile(r"<[A-Za-z/!]")
# A character reference left after the XML parse ("Lo&#239;c" from "Lo&amp;#239;c"): the
# title was escaped HTML, and is decoded once, as feedparser decodes it
_REFERENCE = re.compile(r"&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")
_ACTIVE = re.compile(r"<\s*(script|iframe|object|embed)\b|\son[a-z]+\s*=", re.IGNORECASE)


@dataclass(frozen=True)
class RawText:
    value: str
    kind: TextKind = "text"


@dataclass(frozen=True)
class RawDate:
    text: str | None  # as written
    parsed: datetime | None = None  # the adapter's own reading, used unless ours knows better


@dataclass(frozen=True)
class RawEnclosure:
    url: str | None
    type: object = None
    length: object = None


@dataclass(frozen=True)
class RawImage:
    """A picture the feed names for an entry (media:thumbnail, media:content, JSON image)."""

    url: str | None
    width: object = None
    height: object = None
    type: object = None  # a MIME type or a media:content medium ("image", "video")


@dataclass(frozen=True)
class RawEntry:
    guid: object = None
    link: str | None = None
    title: RawText | None = None
    summary: RawText | None = None
    content: RawText | None = None
    authors: tuple[str, ...] = ()  # names, possibly with markup
    published: RawDate | None = None
    updated: RawDate | None = None
    categories: tuple[str, ...] = ()
    language: str | None = None
    enclosures: tuple[RawEnclosure, ...] = ()
    images: tuple[RawImage, ...] = ()  # best first


@dataclass(frozen=True)
class RawFeed:
    format: str
    base: str | None  # where relative URLs resolve: the fetched URL, else the feed's home
    entries: tuple[RawEntry, ...]
    id: object = None
    title: RawText | None = None
    link: str | None = None
    self_link: str | None = None
    updated: RawDate | None = None
    language: str | None = None
    rights: RawText | None = None
    author: str | None = None
    ttl: object = None
    hub: str | None = None  # rel="hub"


def normalize(raw: RawFeed) -> ParsedFeed:
    base = raw.base
    language = language_tag(raw.language)
    meta = FeedMeta(
        id=clean_token(raw.id), title=_plain(raw.title), link=safe_url(raw.link, base),
        updated=_date(raw.updated), language=language, self_link=safe_url(raw.self_link, base),
        rights=_plain(raw.rights) or None, author=_name(raw.author),
        hub=safe_url(raw.hub, base))
    entries = tuple(_entry(e, base, language) for e in raw.entries)
    return ParsedFeed(format=raw.format, meta=meta, entries=entries, ttl_minutes=_int(raw.ttl),
                      notes=_notes(raw.entries, entries))


def _notes(raw: tuple[RawEntry, ...], read: tuple[EntryData, ...]) -> ReadNotes:
    """What the member's feed report tells them: what had to be worked around."""
    dates = [e.published or e.updated for e in raw]
    unreadable = [d.text for d, e in zip(dates, read, strict=True)
                  if d is not None and d.text and (e.published or e.updated) is None]
    return ReadNotes(
        ids_missing=sum(clean_token(e.guid) is None for e in raw),
        dates_missing=sum(d is None for d in dates),
        dates_unreadable=tuple(dict.fromkeys(unreadable))[:5],
        dates_ours=sum(d is not None and ours_first(d.text) for d in dates),
        sanitized=sum(any(t is not None and t.kind == "html" and _ACTIVE.search(t.value)
                          for t in (e.summary, e.content)) for e in raw))


def _entry(e: RawEntry, base: str | None, feed_language: str | None) -> EntryData:
    summary, content = _html(e.summary, base), _html(e.content, base)
    if content and summary == content:  # one text given twice (feedparser does this)
        summary = None
    enclosures = _enclosures(e.enclosures, base)
    return EntryData(
        guid=clean_token(e.guid), link=safe_url(e.link, base),
        title=title_or_opening(_plain(e.title), summary, content),
        summary=summary, content=content,
        authors=_unique(_name(a) for a in e.authors),
        published=_date(e.published), updated=_date(e.updated),
        raw_categories=_unique(plain_text(c, True) for c in e.categories),
        language=language_tag(e.language) or feed_language,
        enclosures=enclosures, image=_picture(e.images, base, enclosures, content, summary))


def _plain(text: RawText | None) -> str:
    """Plain text: markup removed when declared HTML, or when a guess finds tags or
    character references."""
    if text is None or not text.value:
        return ""
    is_html = text.kind == "html" or (text.kind == "guess" and bool(
        _MARKUP.search(text.value) or _REFERENCE.search(text.value)))
    return plain_text(text.value, is_html)


def _html(text: RawText | None, base: str | None) -> str | None:
    """Safe HTML: markup sanitized, plain text escaped into paragraphs."""
    if text is None or not text.value:
        return None
    cleaned = clean_html(text.value, base) if text.kind == "html" else text_to_html(text.value)
    return cleaned or None


def _date(value: RawDate | None) -> datetime | None:
    return None if value is None else read_date(value.text, value.parsed)


def _name(value: str | None) -> str | None:
    return plain_text(value, True) or None if value else None


def _unique(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _enclosures(found: tuple[RawEnclosure, ...], base: str | None) -> tuple[Enclosure, ...]:
    out: dict[str, Enclosure] = {}
    for x in found:
        url = safe_url(x.url, base)
        if url and url not in out:
            out[url] = Enclosure(url, mime_type(x.type), _length(x.length))
    return tuple(out.values())


_IMG = re.compile(r'<img\s[^>]*?src="([^"]+)"[^>]*>', re.IGNORECASE)
_SIZE = re.compile(r'\s(width|height)="(\d{1,5})"', re.IGNORECASE)


def _picture(named: tuple[RawImage, ...], base: str | None, enclosures: tuple[Enclosure, ...],
             *html: str | None) -> Image | None:
    """The entry's picture: the feed's own (media:thumbnail, media:content, JSON Feed image),
    else an image enclosure, else the first <img> of the (already sanitized) content."""
    for x in named:
        kind = str(x.type or "image").lower()
        url = safe_url(x.url, base)
        if url and (kind == "image" or kind.startswith("image/")):
            return Image(url, _pixels(x.width), _pixels(x.height))
    for enclosure in enclosures:
        if (enclosure.type or "").startswith("image/"):
            return Image(enclosure.url)
    for text in html:
        found = _IMG.search(text or "")
        url = safe_url(html_unescape(found.group(1))) if found else None
        if found and url:
            size = {k.lower(): v for k, v in _SIZE.findall(found.group(0))}
            return Image(url, _pixels(size.get("width")), _pixels(size.get("height")))
    return None


def _pixels(value: object) -> int | None:
    number = _length(value)
    return number if number and number <= 10_000 else None


def _length(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def _int(value: object) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


_EMAIL = r"[^\s@()<>]+@[^\s@()<>]+"
_NAMED = [re.compile(rf"^\s*{_EMAIL}\s*\((?P<name>[^()]+)\)\s*$"),  # jo@x.org (Jo)
          re.compile(rf"^\s*(?P<name>[^()<>]+?)\s*\(\s*{_EMAIL}\s*\)\s*$"),  # Jo (jo@x.org)
          re.compile(rf"^\s*(?P<name>[^()<>]+?)\s*<\s*{_EMAIL}\s*>\s*$")]  # Jo <jo@x.org>


def person(value: str) -> str:
    """An author's name from how feeds write a person ("jo@city.example (Jo Martin)",
    "Jo Martin (jo@city.example)", "Jo Martin <jo@city.example>"); else the text as it is.
    Both parse paths read authors with it (feedparser's own split cuts some addresses)."""
    for shape in _NAMED:
        found = shape.match(value)
        if found:
            return found.group("name").strip()
    return value
