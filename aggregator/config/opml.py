"""`aggregator sources import FILE.opml`: add the feeds of an OPML file to config.yaml.

The config is edited round-trip (config/edit.py): comments and order survive, and a result
that does not validate leaves the file untouched.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import listparser

from aggregator.config.edit import Unchanged, edit_config
from aggregator.errors import ConfigError
from aggregator.sanitize import safe_url


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)  # source ids
    skipped: list[str] = field(default_factory=list)  # why, one line each


def import_opml(config_path: Path, opml: bytes, kind: str | None = None) -> ImportReport:
    parsed = listparser.parse(opml)
    if not parsed.get("version") or (parsed.bozo and not parsed.feeds):
        cause = parsed.bozo_exception or "no <opml> document"
        raise ConfigError(f"not an OPML subscription list: {cause}")
    report = ImportReport()
    titles = _titles(opml)
    with edit_config(config_path) as doc:
        _add_feeds(doc["sources"], parsed.feeds, kind, report, titles)
        if not report.added:
            raise Unchanged
    return report


def _titles(opml: bytes) -> dict[str, str]:
    """xmlUrl -> the outline's ``title`` attribute: the name a reader gave the feed
    (listparser prefers ``text``, which many readers fill with a shortened label)."""
    from lxml import etree
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False, recover=True)
    try:
        root = etree.fromstring(opml, parser)
    except etree.XMLSyntaxError:
        return {}
    if root is None:
        return {}
    return {str(o.get("xmlUrl")).strip(): str(o.get("title")).strip()
            for o in root.iter("outline") if o.get("xmlUrl") and (o.get("title") or "").strip()}


def _add_feeds(sources: Any, feeds: Any, kind: str | None, report: ImportReport,
               titles: dict[str, str]) -> None:
    known_urls = {s.get("url") for s in sources}
    known_ids = {s.get("id") for s in sources}
    for feed in feeds:
        url = safe_url(feed.url)
        title = (titles.get((feed.url or "").strip()) or feed.title or feed.url or "").strip()
        if url is None:
            report.skipped.append(f"{feed.url!r}: not an http or https URL")
        elif url in known_urls:
            report.skipped.append(f"{url}: already configured")
        else:
            source_id = unique(slug(title or url), known_ids)
            sources.append({"id": source_id, "name": title or source_id, "url": url,
                            "kind": kind or _kind(feed.categories)})
            known_urls.add(url)
            known_ids.add(source_id)
            report.added.append(source_id)


def _kind(categories: list[list[str]]) -> str:
    words = {w.lower() for path in categories for w in path}
    return "partner" if words & {"partner", "partners", "partenaires", "socios"} else "member"


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40] or "source"


def unique(base: str, taken: set[object]) -> str:
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate
