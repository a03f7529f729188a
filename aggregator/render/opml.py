"""OPML 2.0 subscription lists: every feed we publish (feeds.opml), and the member and
partner feeds we aggregate (sources.opml). Deterministic: no dates in the head."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from aggregator.config import Settings
from aggregator.render import FeedSpec
from aggregator.render.atom import format_url


def render_feeds_opml(settings: Settings, main: Sequence[FeedSpec],
                      by_language: Sequence[FeedSpec]) -> bytes:
    root, body = _document(f"{settings.hub.title}: all feeds")
    everything = ET.SubElement(body, "outline", text="By category")
    for spec in main:
        _feed(everything, spec)
    languages = ET.SubElement(body, "outline", text="By language")
    for lang in dict.fromkeys(s.only_language for s in by_language):
        group = ET.SubElement(languages, "outline", text=str(lang))
        for spec in (s for s in by_language if s.only_language == lang):
            _feed(group, spec)
    return _serialize(root)


def render_sources_opml(settings: Settings, urls: dict[str, str]) -> bytes:
    """``urls``: source id -> the feed URL to subscribe to, or the page a scraped source
    reads (listed as a link); sources without one are left out (a local file)."""
    root, body = _document(f"{settings.hub.title}: members and partners")
    for kind, label in (("member", "Members"), ("partner", "Partners")):
        group = ET.SubElement(body, "outline", text=label)
        for source in settings.sources:
            if source.kind == kind and source.id in urls:
                # a page read by selectors has no feed to subscribe to: a link to it
                attrs = {"type": "link", "text": source.name, "title": source.name,
                         "url": urls[source.id]} if source.scrape else \
                    {"type": "rss", "text": source.name, "title": source.name,
                     "xmlUrl": urls[source.id]}
                if source.language:
                    attrs["language"] = source.language
                ET.SubElement(group, "outline", attrs)
    return _serialize(root)


def _document(title: str) -> tuple[ET.Element, ET.Element]:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    return root, ET.SubElement(root, "body")


def _feed(parent: ET.Element, spec: FeedSpec) -> None:
    ET.SubElement(parent, "outline", type="rss", text=spec.title, title=spec.title,
                  xmlUrl=format_url(spec, "atom"), htmlUrl=spec.alternate_url,
                  language=spec.language)


def _serialize(root: ET.Element) -> bytes:
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
