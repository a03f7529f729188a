"""The static search index: one Pagefind record per story (merged copies are one record),
filtered by category, language and source, written into ``pagefind/`` with every publish
that changed entries. It works on any static host: the browser fetches index fragments.

Each record points at the entry on its month page (``month/YYYY-MM.html#e-…`` of the
all-languages tree): a stable address on the hub, where its provenance is shown."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..models import StoredEntry
from ..render import display_title
from ..sanitize import plain_text
from ..taxonomy import Taxonomy, primary_language
from .i18n import Words
from .layout import River, anchor, month_page_of, months

log = logging.getLogger("aggregator.search")

BUNDLE = "pagefind"  # the folder of the index in the output dir


@dataclass(frozen=True)
class Record:
    url: str  # from the output root
    title: str
    content: str
    date: str
    filters: dict[str, list[str]]


def records(everything: list[StoredEntry], taxonomy: Taxonomy, names: dict[str, str],
            language: str) -> list[Record]:
    """One record per stored story. Categories and sources are named in the hub's language;
    a language by its own name ("Français"), the same from every page's language."""
    river = River("all")
    where = month_page_of(river, months(river, everything))
    words = Words(language)
    out = []
    for e in everything:
        title = display_title(e)
        text = plain_text(e.summary or e.content or "", True)
        out.append(Record(
            url=f"{where[e.key]}#{anchor(e)}", title=title, content=f"{title}\n{text}",
            date=e.published.date().isoformat(),
            filters={"category": [taxonomy.label(c, language) for c in e.categories],
                     "language": [words.own_name(primary_language(e.language or language))],
                     "source": [names.get(e.source_id, e.source_id)]}))
    return out


def records_digest(found: list[Record], language: str) -> bytes:
    """What an index is built from, as a short digest (kept beside the index)."""
    h = hashlib.sha256(language.encode())
    for r in found:
        h.update(json.dumps([r.url, r.title, r.content, r.date, r.filters],
                            sort_keys=True).encode("utf-8"))
    return h.hexdigest().encode("ascii") + b"\n"


def build_index(found: list[Record], language: str) -> dict[str, bytes] | None:
    """The Pagefind bundle (file name under ``pagefind/`` -> bytes), or None when Pagefind
    is not installed or fails (the site then works without search; logged)."""
    try:
        from pagefind.index import PagefindIndex
    except ImportError:
        log.warning("search index skipped: pagefind is not installed")
        return None
    with tempfile.TemporaryDirectory(prefix="aggregator-search-") as folder:
        try:
            asyncio.run(_write(PagefindIndex, found, language, Path(folder)))
        except Exception as e:  # the binary missing, killed, or refusing a record
            log.warning("search index skipped: pagefind failed: %s: %s", type(e).__name__, e)
            return None
        return {str(p.relative_to(folder)): p.read_bytes()
                for p in sorted(Path(folder).rglob("*")) if p.is_file()}


async def _write(index_type: type, found: list[Record], language: str, folder: Path) -> None:
    # One index in the hub's language: records in every language are searched together and
    # narrowed with the language filter (Pagefind would otherwise split them by language).
    config = {"force_language": language, "output_path": str(folder)}
    async with index_type(config=config) as index:  # leaving it writes the files
        for r in found:
            await index.add_custom_record(url=r.url, content=r.content, language=language,
                                          meta={"title": r.title, "date": r.date},
                                          filters=r.filters, sort={"date": r.date})
