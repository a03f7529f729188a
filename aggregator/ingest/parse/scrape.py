"""Pages with no feed -> ParsedFeed, by the source's CSS selectors (config ``scrape:``).

lxml.html parses the page (it never fetches anything: the body came through the same
guarded fetch as any feed) and cssselect turns each selector into XPath, relative to each
item. What an item holds goes to the one normalizer as a RawEntry, like any feed's. Items
have no ids of their own: ingest identifies them by link, else by a hash of their text.
Relative links resolve against the page's ``<base href>``, else its URL.
"""

from __future__ import annotations

import codecs
import functools
import re
from datetime import UTC, datetime

import lxml.html
from lxml import etree
from lxml.cssselect import CSSSelector

from aggregator.config import ScrapeSettings
from aggregator.dates import parse_loose
from aggregator.errors import ParseError
from aggregator.ingest.normalize import RawDate, RawEntry, RawFeed, RawImage, RawText, normalize
from aggregator.ingest.parse.charset import http_charset
from aggregator.models import SCRAPED, ParsedFeed
from aggregator.sanitize import safe_url

_SPACE = re.compile(r"\s+")
_MORE = re.compile(r"\s*(\(\+\)|\[\+\]|read more|lire la suite|leer más)\s*$", re.IGNORECASE)
_NUMERIC = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}|$)")  # HTML5 dates and datetimes


def scrape_page(body: bytes, url: str, rules: ScrapeSettings,
                content_type: str | None = None) -> ParsedFeed:
    charset = _http_charset(content_type)
    try:
        page = lxml.html.document_fromstring(
            body, parser=lxml.html.HTMLParser(encoding=charset) if charset else None)
    except (etree.ParserError, ValueError, LookupError) as e:
        raise ParseError(f"not an HTML page: {e}") from e
    base = _base(page, safe_url(url))
    entries = tuple(_item(item, rules) for item in _select(rules.item)(page))
    title = _text(page.find(".//title"))
    return normalize(RawFeed(format=SCRAPED, base=base, entries=entries, title=RawText(title),
                             link=base, self_link=safe_url(url)))


def _http_charset(content_type: str | None) -> str | None:
    """The charset the HTTP header names (HTML's rule: it wins over <meta charset>; what is
    labelled Latin-1 or ASCII is read as windows-1252, as browsers do); None when unknown."""
    label = http_charset(content_type)
    if not label:
        return None
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return "windows-1252" if name in ("latin-1", "iso8859-1", "ascii") else name


def _base(page: lxml.html.HtmlElement, url: str | None) -> str | None:
    found = page.find(".//base[@href]")
    declared = safe_url(found.get("href"), url) if found is not None else None
    return declared or url


def _item(item: lxml.html.HtmlElement, rules: ScrapeSettings) -> RawEntry:
    title = _first(item, rules.title)
    category, date_text = _meta(item, rules)
    words = [_text(c) for c in _select(rules.categories)(item)] if rules.categories else []
    words += [w.strip() for w in (category or "").split(",") if w.strip()]
    date = _first(item, rules.date) if rules.date else None
    when = (_date(date.get("datetime"), rules.date_format)  # else the text a reader sees
            or _date(_text(date), rules.date_format)) if date is not None \
        else _date(date_text, rules.date_format)
    summary = _MORE.sub("", _text(_first(item, rules.summary))) if rules.summary else ""
    return RawEntry(
        link=_href(_first(item, rules.link) if rules.link else title),
        title=RawText(_text(title)), summary=RawText(summary) if summary else None,
        published=RawDate(None, when) if when else None,
        categories=tuple(w for w in words if w),
        images=tuple(RawImage(img.get("src"), img.get("width"), img.get("height"))
                     for img in item.iterfind(".//img[@src]"))[:1])


def _meta(item: lxml.html.HtmlElement, rules: ScrapeSettings) -> tuple[str | None, str | None]:
    """The ``category`` and ``date`` groups of ``pattern`` in the meta element's text."""
    if rules.meta is None or rules.pattern is None:
        return None, None
    found = rules.pattern.search(_text(_first(item, rules.meta)))
    if found is None:
        return None, None
    groups = found.groupdict()
    return groups.get("category"), groups.get("date")


def _first(item: lxml.html.HtmlElement, selector: str | None) -> lxml.html.HtmlElement | None:
    found = _select(selector)(item) if selector else []
    return found[0] if found else None


@functools.lru_cache(maxsize=256)
def _select(selector: str) -> CSSSelector:
    """Selectors translated to XPath once, not per item (most of the time otherwise)."""
    return CSSSelector(selector, translator="html")


def _text(element: lxml.html.HtmlElement | None) -> str:
    return _SPACE.sub(" ", element.text_content()).strip() if element is not None else ""


def _href(element: lxml.html.HtmlElement | None) -> str | None:
    """The element's href, or its first link's (a title selector may name the heading)."""
    if element is None:
        return None
    if element.get("href"):
        return str(element.get("href"))
    inner = element.find(".//a[@href]")
    return str(inner.get("href")) if inner is not None else None


def _iso(text: str) -> datetime | None:
    if not _ISO.match(text):
        return None
    try:
        found = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    return found.astimezone(UTC) if found.tzinfo else found.replace(tzinfo=UTC)


def _date(text: str | None, date_format: str) -> datetime | None:
    """Numeric dates as the source writes them (day first unless told otherwise)."""
    if not text:
        return None
    text = text.strip()
    iso = _iso(text)  # YYYY-MM-DD, with a time or not: HTML's <time datetime>, unambiguous
    if iso is not None:
        return iso
    if "%" in date_format:
        try:
            found = datetime.strptime(text, date_format)
        except ValueError:
            return None
        return found.astimezone(UTC) if found.tzinfo else found.replace(tzinfo=UTC)
    numeric = _NUMERIC.search(text)
    if date_format == "month-first" and numeric:
        month, day, year = (int(g) for g in numeric.groups())
        try:
            return datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            return None
    return parse_loose(text)  # day first, and words in English, French, Spanish, Portuguese
