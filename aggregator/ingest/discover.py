"""Finding a site's feeds (`aggregator sources add URL`).

The URL itself, if it is a feed; else the page's ``<link rel="alternate">`` feeds; else the
paths sites commonly publish feeds at. Every request goes through the hub's own fetcher
(network guard, size and time limits), and a candidate counts only if it parses as a feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from aggregator.config import SourceSettings
from aggregator.errors import FetchError, ParseError
from aggregator.ingest.fetch import Fetcher
from aggregator.ingest.parse.fast_path import read_feed
from aggregator.models import Fetched
from aggregator.sanitize import safe_url

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json",
              "application/json", "application/rdf+xml", "application/xml", "text/xml")
COMMON_PATHS = ("/feed", "/rss", "/feed.xml", "/rss.xml", "/atom.xml", "/index.xml",
                "/feed.json", "/?feed=rss2")


@dataclass(frozen=True)
class FoundFeed:
    url: str
    title: str
    format: str
    entries: int


@dataclass(frozen=True)
class Discovery:
    url: str  # what was asked
    feeds: tuple[FoundFeed, ...]


def discover(url: str, fetcher: Fetcher) -> Discovery:
    fetched = _get(url, fetcher)
    if fetched is None:
        raise FetchError(f"{url}: nothing could be fetched")
    direct = _as_feed(fetched)
    if direct is not None:
        return Discovery(url, (direct,))
    found: dict[str, FoundFeed] = {}
    for candidate in _announced(fetched):  # every feed the page names
        feed = _fetch_feed(candidate, fetcher)
        if feed is not None:
            found.setdefault(feed.url, feed)
    for path in COMMON_PATHS if not found else ():  # else the first common path that works
        feed = _fetch_feed(urljoin(fetched.url, path), fetcher)
        if feed is not None:
            found[feed.url] = feed
            break
    return Discovery(url, tuple(found.values()))


def _get(url: str, fetcher: Fetcher) -> Fetched | None:
    result = fetcher.fetch(SourceSettings(id="discover", name="discover", kind="member",
                                          url=url), None)
    return result if isinstance(result, Fetched) else None


def _fetch_feed(url: str, fetcher: Fetcher) -> FoundFeed | None:
    try:
        fetched = _get(url, fetcher)
    except FetchError:
        return None
    return _as_feed(fetched) if fetched is not None else None


def _as_feed(fetched: Fetched) -> FoundFeed | None:
    try:
        parsed = read_feed(fetched.body, fetched.url, fetched.content_type)
    except ParseError:
        return None
    return FoundFeed(fetched.url, parsed.meta.title, parsed.format, len(parsed.entries))


def _announced(page: Fetched) -> list[str]:
    """The feeds a page names with <link rel="alternate" type="...">, in its order."""
    try:
        doc = lxml.html.document_fromstring(page.body)
    except (etree.ParserError, ValueError):
        return []
    base = page.url
    found = doc.find(".//base[@href]")
    if found is not None:
        base = safe_url(found.get("href"), page.url) or base
    out = []
    for link in doc.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        url = safe_url(link.get("href"), base)
        if "alternate" in rel and kind in FEED_TYPES and url and url not in out:
            out.append(url)
    return out
