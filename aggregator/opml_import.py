"""`aggregator sources import FILE.opml`: add the feeds of an OPML file to config.yaml.

The config is edited with ruamel.yaml's round-trip mode, so its comments and key order
survive; the result is validated like any config before it replaces the file (atomically),
and a bad result leaves the file untouched.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import listparser
from ruamel.yaml import YAML

from .config import parse_settings
from .exceptions import ConfigError
from .files import atomic_write
from .sanitize import safe_url


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)  # source ids
    skipped: list[str] = field(default_factory=list)  # why, one line each


def import_opml(config_path: Path, opml: bytes, kind: str | None = None) -> ImportReport:
    parsed = listparser.parse(opml)
    if not parsed.get("version") or (parsed.bozo and not parsed.feeds):
        cause = parsed.bozo_exception or "no <opml> document"
        raise ConfigError(f"not an OPML subscription list: {cause}")
    yaml = YAML()  # round-trip: comments, order and quoting are kept
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)  # the shipped config's layout
    yaml.width = 4096
    doc = yaml.load(config_path.read_text(encoding="utf-8"))
    sources = doc["sources"]
    known_urls = {s.get("url") for s in sources}
    known_ids = {s.get("id") for s in sources}
    report = ImportReport()
    for feed in parsed.feeds:
        url = safe_url(feed.url)
        title = (feed.title or feed.url or "").strip()
        if url is None:
            report.skipped.append(f"{feed.url!r}: not an http or https URL")
        elif url in known_urls:
            report.skipped.append(f"{url}: already configured")
        else:
            source_id = _unique(_slug(title or url), known_ids)
            sources.append({"id": source_id, "name": title or source_id, "url": url,
                            "kind": kind or _kind(feed.categories)})
            known_urls.add(url)
            known_ids.add(source_id)
            report.added.append(source_id)
    if report.added:
        out = io.StringIO()
        yaml.dump(doc, out)
        parse_settings(out.getvalue(), config_path)  # raises ConfigError: file untouched
        atomic_write(config_path, out.getvalue().encode("utf-8"))
    return report


def _kind(categories: list[list[str]]) -> str:
    words = {w.lower() for path in categories for w in path}
    return "partner" if words & {"partner", "partners", "partenaires", "socios"} else "member"


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40] or "source"


def _unique(base: str, taken: set[object]) -> str:
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate
