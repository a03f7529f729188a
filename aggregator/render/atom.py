"""Atom 1.0 (RFC 4287) rendering. The only module that imports feedgen.

feedgen's ``source()`` writes only a title and a link; RFC 4287 section 4.2.11 asks an
aggregator to keep the origin feed's id, title and updated, so a small feedgen extension
writes the full ``atom:source``, the entry's ``xml:lang`` and its ``rel=via`` and
``rel=enclosure`` links (feedgen
1.0 drops the ``rel`` and ``type`` of entry links: its writer shadows the loop variable).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from aggregator.config import Settings
from aggregator.config.taxonomy import Taxonomy
from aggregator.models import Enclosure, FeedMeta, SourceEvent, StoredEntry
from aggregator.render import EMPTY_FEED_UPDATED, FeedSpec, display_title
from aggregator.sanitize import iri, iri_to_uri, mime_type
from aggregator.version import __version__

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


FORMATS = {"atom": "application/atom+xml", "rss": "application/rss+xml",
           "json": "application/feed+json"}


FH_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005 feed history


class _HubFeedExtension(BaseExtension):  # type: ignore[misc]
    """RSS has no element for links to other formats: atom:link in the channel carries them.
    Atom gets the RFC 5005 history links (feedgen only knows a few rel values)."""

    def __init__(self) -> None:
        self.alternates: list[dict[str, str]] = []
        self.history: tuple[tuple[str, str], ...] = ()
        self.archive = False

    def extend_atom(self, feed: Any) -> Any:
        for rel, href in self.history:
            etree.SubElement(feed, f"{{{ATOM_NS}}}link", rel=rel, href=href,
                             type="application/atom+xml",
                             nsmap={None: ATOM_NS})  # no "ns0:" prefix (W3C warns of it)
        if self.archive:
            etree.SubElement(feed, f"{{{FH_NS}}}archive", nsmap={"fh": FH_NS})
        return feed

    def extend_rss(self, rss: Any) -> Any:
        channel = rss.find("channel")
        for attrs in self.alternates:
            etree.SubElement(channel, f"{{{ATOM_NS}}}link", attrs)
        return rss


class _RssFeedExtension(_HubFeedExtension):
    def extend_ns(self) -> dict[str, str]:
        return {"atom": ATOM_NS}


class _HubEntryExtension(BaseEntryExtension):  # type: ignore[misc]
    def __init__(self) -> None:
        self.language: str | None = None
        self.source: dict[str, str] | None = None
        self.links: list[dict[str, str]] = []

    def extend_atom(self, entry: Any) -> Any:
        if self.language:
            entry.set(XML_LANG, self.language)
        for attrs in self.links:
            etree.SubElement(entry, f"{{{ATOM_NS}}}link", attrs, nsmap={None: ATOM_NS})
        if self.source:
            _write_source(entry, self.source)
        return entry


def _write_source(entry: Any, source: dict[str, str]) -> None:
    """atom:source with the origin feed's id, title, updated, links, rights and author."""
    src = etree.SubElement(entry, f"{{{ATOM_NS}}}source", nsmap={None: ATOM_NS})
    if source.get("author"):
        author = etree.SubElement(src, f"{{{ATOM_NS}}}author")
        etree.SubElement(author, f"{{{ATOM_NS}}}name").text = source["author"]
    for name in ("id", "title", "updated"):
        etree.SubElement(src, f"{{{ATOM_NS}}}{name}").text = source[name]
    for rel, key in (("alternate", "link"), ("self", "self")):
        if source.get(key):
            etree.SubElement(src, f"{{{ATOM_NS}}}link", rel=rel, href=source[key])
    if source.get("rights"):
        etree.SubElement(src, f"{{{ATOM_NS}}}rights").text = source["rights"]


def render_atom(spec: FeedSpec, entries: Sequence[StoredEntry], settings: Settings,
                taxonomy: Taxonomy, source_names: Mapping[str, str]) -> bytes:
    """One Atom document; the same inputs always give the same bytes."""
    fg = _build(spec, entries, settings, taxonomy, source_names, "atom")
    data: bytes = fg.atom_str(pretty=True, encoding="UTF-8")
    return data


def render_rss(spec: FeedSpec, entries: Sequence[StoredEntry], settings: Settings,
               taxonomy: Taxonomy, source_names: Mapping[str, str]) -> bytes:
    """The same feed as RSS 2.0: same entries, ids (guid), order and dates."""
    fg = _build(spec, entries, settings, taxonomy, source_names, "rss")
    data: bytes = fg.rss_str(pretty=True, encoding="UTF-8")
    return data


def format_url(spec: FeedSpec, fmt: str) -> str:
    """The URL of ``spec`` in format ``fmt`` (self_url is the Atom one)."""
    return spec.self_url.removesuffix(".atom") + "." + fmt


def _build(spec: FeedSpec, entries: Sequence[StoredEntry], settings: Settings,
           taxonomy: Taxonomy, source_names: Mapping[str, str], fmt: str) -> FeedGenerator:
    fg = FeedGenerator()
    feed_extension = _RssFeedExtension if fmt == "rss" else _HubFeedExtension
    fg.register_extension("hub", feed_extension, _HubEntryExtension, atom=True,
                          rss=fmt == "rss")
    fg.id(spec.feed_id)
    fg.title(spec.title)
    fg.link(href=format_url(spec, fmt), rel="self", type=FORMATS[fmt])
    html = {"href": spec.alternate_url, "rel": "alternate", "type": "text/html"}
    if fmt != "atom":
        fg.link(**html)
    others = [{"rel": "alternate", "type": t, "href": format_url(spec, f)}
              for f, t in FORMATS.items() if f != fmt]
    if settings.hub.websub_hub:  # WebSub discovery: rel=hub next to rel=self
        others.append({"rel": "hub", "href": settings.hub.websub_hub})
    if spec.archive:
        others = []  # an archive page is only Atom, and not pinged
    if fmt == "atom":
        # the page last: readers that take the last alternate as the feed's website
        # (newsboat) land on it; those that look for text/html (feedparser) find it anyway
        for link in [*others, html]:
            fg.link(**link)
        fg.hub.history = spec.history
        fg.hub.archive = spec.archive
    else:
        fg.hub.alternates = others
    fg.description(settings.hub.description_in(spec.only_language))
    fg.language(spec.language)
    fg.author({"name": settings.hub.title_in(spec.only_language), "uri": settings.hub.base_url})
    fg.generator("lrg-aggregator", __version__)
    if settings.hub.rights:
        fg.rights(settings.hub.rights)
    newest = max((e.updated for e in entries), default=EMPTY_FEED_UPDATED)
    fg.updated(newest)
    fg.lastBuildDate(newest)  # RSS: no clock in the output, so bytes stay stable
    for e in entries:
        _add_entry(fg, e, spec, settings, taxonomy, source_names, fmt)
    return fg


def _add_entry(fg: FeedGenerator, e: StoredEntry, spec: FeedSpec, settings: Settings,
               taxonomy: Taxonomy, source_names: Mapping[str, str], fmt: str) -> None:
    fe = fg.add_entry(order="append")
    fe.id(e.entry_id)
    fe.title(display_title(e, plain=fmt == "rss"))
    fe.published(e.published)
    fe.updated(e.updated)
    if e.link:  # written without rel, which RFC 4287 reads as "alternate"; RSS wants a URI
        fe.link(href=iri_to_uri(e.link) if fmt == "rss" else e.link)
    fe.hub.links.extend({"rel": "via", "href": via} for via in e.via)
    fe.hub.links.extend(_enclosure(x) for x in e.enclosures)
    for name in e.authors or (source_names.get(e.source_id, e.source_id),):
        fe.author({"name": name})
    scheme = f"{settings.hub.base_url}categories/"
    for cid in e.categories:
        if cid in taxonomy.order:  # a category taken out of the config is not named
            fe.category(term=cid, scheme=scheme, label=taxonomy.label(cid, spec.language))
    if e.summary:
        fe.summary(e.summary, type="html")
    if e.content:
        fe.content(e.content, type="html")
    elif not e.link:
        fe.content(e.summary or "", type="html")  # RFC 4287: no alternate link needs content
    if e.origin.rights:
        fe.rights(e.origin.rights)  # the entry belongs to its publisher, on its terms
    fe.hub.language = e.language
    fe.hub.source = _source(e.origin, e, settings, source_names)
    if fmt == "rss":
        _rss_only(fe, e, fe.hub.source)


def _rss_only(fe: Any, e: StoredEntry, source: dict[str, str]) -> None:
    """RSS has one enclosure per item and a <source url> naming the origin feed."""
    if e.enclosures:
        x = e.enclosures[0]
        fe.enclosure(iri_to_uri(x.url), str(x.length or 0),
                     mime_type(x.type) or "application/octet-stream")
    url = source.get("self") or source.get("link")
    if url:
        fe.source(url=iri_to_uri(url), title=source["title"])


def _enclosure(x: Enclosure) -> dict[str, str]:
    attrs = {"rel": "enclosure", "href": x.url}
    if mime_type(x.type):
        attrs["type"] = mime_type(x.type) or ""
    if x.length is not None:
        attrs["length"] = str(x.length)
    return attrs


def _source(origin: FeedMeta, e: StoredEntry, settings: Settings,
            source_names: Mapping[str, str]) -> dict[str, str]:
    return {
        # the origin's id only when it is an IRI (RFC 4287 4.2.6); else its link, else ours
        "id": iri(origin.id) or origin.link or f"{settings.hub.id}source/{e.source_id}",
        "title": origin.title or source_names.get(e.source_id, e.source_id),
        "updated": (origin.updated or e.updated).isoformat(),
        "link": origin.link or "", "self": origin.self_link or "",
        "rights": origin.rights or "", "author": origin.author or "",
    }


_EVENT_TITLES = {"failing": "is failing", "recovered": "recovered", "moved": "moved",
                 "gone": "is gone (HTTP 410)", "re-enabled": "was re-enabled",
                 "selectors-broken": "page matches its selectors no more",
                 "removed": "had an entry taken down", "purged": "was purged",
                 "silent": "has published nothing new for a while",
                 "disabled": "was disabled"}


def render_status_atom(events: Sequence[SourceEvent], settings: Settings,
                       source_names: Mapping[str, str]) -> bytes:
    """The operators' feed: one entry per change of a source's health, newest first."""
    hub = settings.hub
    fg = FeedGenerator()
    fg.id(f"{hub.id}feeds/status")
    fg.title(f"{hub.title}: source health")
    fg.link(href=f"{hub.base_url}status.atom", rel="self", type="application/atom+xml")
    fg.link(href=f"{hub.base_url}status.json", rel="alternate", type="application/json")
    fg.language(hub.language)
    fg.author({"name": hub.title, "uri": hub.base_url})
    fg.generator("lrg-aggregator", __version__)
    fg.updated(max((e.at for e in events), default=EMPTY_FEED_UPDATED))
    for event in events:
        name = source_names.get(event.source_id, event.source_id)
        fe = fg.add_entry(order="append")
        which = f"/{hashlib.sha1(event.detail.encode()).hexdigest()[:10]}" \
            if event.kind == "removed" else ""  # several takedowns in one second
        fe.id(f"{hub.id}status/{event.source_id}/{event.kind}/{event.at:%Y%m%dT%H%M%SZ}"
              f"{which}")
        fe.title(f"{name} {_EVENT_TITLES.get(event.kind, event.kind)}")
        fe.updated(event.at)
        fe.content(event.detail or event.kind, type="text")
        fe.category(term=event.kind)
    data: bytes = fg.atom_str(pretty=True, encoding="UTF-8")
    return data
