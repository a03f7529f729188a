"""The static search index: one Pagefind record per story (merged copies are one record),
filtered by category, language and source, written into ``pagefind/`` with every publish
that changed entries. It works on any static host: the browser fetches index fragments.

Each record points at the entry on its month page (``month/YYYY-MM.html#e-…`` of the
all-languages tree): a stable address on the hub, where its provenance is shown."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from html import escape
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

from aggregator.config.taxonomy import Taxonomy, primary_language
from aggregator.files import pid_alive
from aggregator.models import StoredEntry
from aggregator.render import display_title
from aggregator.render.site.i18n import words
from aggregator.render.site.layout import MonthPages, River, anchor, months
from aggregator.sanitize import plain_text
from aggregator.store.rows import Row
from aggregator.stories.order import Arrived

log = logging.getLogger("aggregator.search")

BUNDLE = "pagefind"  # the folder of the index in the output dir
STAGING = "aggregator-search-"  # + pid: the record files of one index build, in memory


@dataclass(frozen=True)
class Record:
    url: str  # from the output root
    title: str
    content: str
    date: str
    filters: dict[str, list[str]]
    arrived: str = ""  # when the hub first saw it (ISO): the order of a month's shards
    tree_url: str = ""  # the same in its language's tree ("fr/month/..."): results found
    # from that tree's search page open there
    source: str = ""  # its publisher, shown with each result
    key: str = ""  # its entry's
    text_hash: str = ""  # its entry's content_hash: changes when the title or text does


class _Places:
    """Where each story's record points: its month page in the all-languages tree, and in
    its language's tree (found by bisecting each tree's month parts: no table of every
    story), with its filters named in the hub's language."""

    def __init__(self, everything: list[Row] | list[StoredEntry], taxonomy: Taxonomy,
                 names: dict[str, str], language: str, tree_languages: Sequence[str]
                 ) -> None:
        self.taxonomy, self.names, self.language = taxonomy, names, language
        self.fmt = words(language)
        self._primary: dict[str | None, str] = {}
        self._filters: dict[tuple[object, ...], tuple[dict[str, list[str]], str, str]] = {}
        river = River("all")
        self.root = MonthPages(months(river, everything, ordered=False))
        self.trees: dict[str, MonthPages] = {}
        for lang in dict.fromkeys(tree_languages):
            mine = [e for e in everything if self.primary(e.language) == lang]
            self.trees[lang] = MonthPages(months(
                river, Arrived(mine) if isinstance(everything, Arrived) else mine,
                ordered=False))  # still in arrival order: not sorted again

    def primary(self, language: str | None) -> str:
        found = self._primary.get(language)
        if found is None:
            found = self._primary[language] = primary_language(language or self.language)
        return found

    def url(self, e: Row | StoredEntry) -> str:
        return f"{self.root.get(e)}#{anchor(e)}"

    def tree_url(self, e: Row | StoredEntry, url: str | None = None) -> str:
        """Its page in its language's tree ("" when that language has none); ``url``: its
        ``url()``, whose anchor it shares."""
        lang = self.primary(e.language)
        tree = self.trees.get(lang)
        if tree is None:
            return ""
        return f"{lang}/{tree.get(e)}#{url.rpartition('#')[2] if url else anchor(e)}"

    def filters(self, e: Row | StoredEntry) -> tuple[dict[str, list[str]], str, str]:
        """A record's filters, and them and its source as placement_digest writes them
        (made once for each kind of story: a few thousand among 80,000)."""
        kind = (e.categories, e.language, e.source_id)
        found = self._filters.get(kind)
        if found is None:
            source = self.names.get(e.source_id, e.source_id)
            filters = {"category": [self.taxonomy.label(c, self.language)
                                    for c in e.categories],
                       "language": [self.fmt.own_name(self.primary(e.language))],
                       "source": [source]}
            found = self._filters[kind] = (filters, json.dumps(filters, sort_keys=True),
                                           json.dumps(source))
        return found

    def record(self, e: Row | StoredEntry, url: str) -> Record:
        source = self.names.get(e.source_id, e.source_id)
        return Record(
            tree_url=self.tree_url(e, url), source=source, url=url, title="", content="",
            date=e.published.date().isoformat(), arrived=e.first_seen.isoformat(),
            filters=self.filters(e)[0], key=e.key, text_hash=e.content_hash)

    def placement(self, e: Row | StoredEntry, url: str) -> str:
        """What placement_digest writes of ``record(e, url)``, made without the record."""
        q = encode_basestring_ascii  # json.dumps of a str, without its Python layers
        _, filters, source = self.filters(e)
        return (f"[{q(url)}, {q(e.published.date().isoformat())}, {filters}, "
                f"{q(self.tree_url(e, url))}, {source}, {q(e.content_hash)}]")


def placed(everything: Sequence[Row | StoredEntry], taxonomy: Taxonomy, names: dict[str, str],
           language: str, tree_languages: Sequence[str] = ()) -> list[Record]:
    """One record per stored story, without its text (title, content): what the stories'
    rows tell (``with_text`` adds the rest). Categories and sources are named in the hub's
    language; a language by its own name ("Français"), the same from every page's language.
    With ``tree_languages``, each record also knows its page in its language's tree."""
    listed: Any = everything if isinstance(everything, list) else list(everything)
    places = _Places(listed, taxonomy, names, language, tree_languages)
    return [places.record(e, places.url(e)) for e in listed]


class Shard:
    """One shard of the index, as placed_shards cuts it: its stories' places, their records
    made only when asked for (a shard not indexed again needs its digest alone)."""

    def __init__(self, name: str, places: _Places, stories: list[tuple[str, Row]]) -> None:
        self.name, self._places, self._stories = name, places, stories

    def digest(self, language: str) -> str:
        """placement_digest(self.records(), language)."""
        h = hashlib.sha256(language.encode())
        placement = self._places.placement
        for url, e in self._stories:
            h.update(placement(e, url).encode("utf-8"))
        return h.hexdigest()

    def records(self) -> list[Record]:
        return [self._places.record(e, url) for url, e in self._stories]


def placed_shards(everything: Sequence[Row], taxonomy: Taxonomy, names: dict[str, str],
                  language: str, tree_languages: Sequence[str] = ()) -> Iterator[Shard]:
    """``shard_of(placed(...))``, one shard at a time, its records made when asked for: a
    build whose stories did not change makes none (every record at once held 65 MB at
    72,000 stories, and making them was a twentieth of a whole build)."""
    listed = everything if isinstance(everything, list) else list(everything)
    places = _Places(listed, taxonomy, names, language, tree_languages)
    by_month: dict[str, list[Row]] = {}
    for e in listed:
        by_month.setdefault(e.published.date().isoformat()[:7], []).append(e)
    for month in sorted(by_month, reverse=True):
        group = sorted((e.first_seen.isoformat(), places.url(e), e) for e in by_month[month]
                       )  # (arrived, url) as shard_of orders records: the key is unique
        for number in range((len(group) - 1) // SHARD_SIZE + 1, 0, -1):
            part = group[(number - 1) * SHARD_SIZE:number * SHARD_SIZE]
            yield Shard(f"{month}-p{number}", places, [(url, e) for _, url, e in part])


def with_text(found: Sequence[Record], entries: Mapping[str, StoredEntry]) -> list[Record]:
    """The records with their entries' title and text (a record whose entry is gone: left
    out)."""
    out = []
    for r in found:
        e = entries.get(r.key)
        if e is not None:
            out.append(replace(r, title=display_title(e),
                               content=plain_text(e.summary or e.content or "", True)))
    return out


def placement_digest(found: list[Record], language: str) -> str:
    """What an index of records placed (without their text) is built from: their places,
    filters and their entries' content hashes (identity.content_hash: the title and text
    are among what it covers), so a shard whose stories did not change is known without
    reading them."""
    h = hashlib.sha256(language.encode())
    for r in found:
        h.update(json.dumps([r.url, r.date, r.filters, r.tree_url, r.source, r.text_hash],
                            sort_keys=True).encode("utf-8"))
    return h.hexdigest()


SHARD_SIZE = 2000  # records per Pagefind run: its memory grows ~45 KB a record


def shard_of(found: list[Record]) -> dict[str, list[Record]]:
    """Records by shard: one per month of publication, cut by arrival into parts of at most
    SHARD_SIZE (``2026-03-p1`` holds the month's earliest arrivals). A new story joins its
    month's last part, so the other parts keep their stories and are not indexed again
    (a hash of the address spread 600 new stories over every part of a busy month), and
    each Pagefind run stays small (one run over 25,000 stories took 1.1 GB). Newest month
    first, and in a month the latest part first."""
    months: dict[str, list[Record]] = {}
    for r in found:
        months.setdefault(r.date[:7], []).append(r)
    out: dict[str, list[Record]] = {}
    for month in sorted(months, reverse=True):
        group = sorted(months[month], key=lambda r: (r.arrived, r.url))
        parts = [group[i:i + SHARD_SIZE] for i in range(0, len(group), SHARD_SIZE)]
        for number in range(len(parts), 0, -1):
            out[f"{month}-p{number}"] = parts[number - 1]
    return out


def build_index(found: list[Record], language: str, bundle: Path, timeout: float = 600.0
                ) -> bool:
    """Write the Pagefind bundle into the empty folder ``bundle``; False when Pagefind is
    not installed or fails (the site then works without search; logged).

    Each record becomes a small HTML file that the Pagefind CLI indexes (its Python API
    answers one request per 0.1 s: 75,000 records would take two hours; the CLI takes
    seconds). The record's address rides in its ``url`` metadata, which the search page
    uses instead of the file's. The record files go to memory (/dev/shm) where there is
    one: creating thousands of small files costs more on disk than indexing them."""
    if importlib.util.find_spec("pagefind") is None:
        log.warning("search index skipped: pagefind is not installed")
        return False
    with tempfile.TemporaryDirectory(prefix=f"{STAGING}{os.getpid()}-",
                                     dir=_scratch()) as folder:
        site = Path(folder, "records")
        site.mkdir()
        for i, r in enumerate(found):
            (site / f"{i}.html").write_text(_record_page(r, language), encoding="utf-8")
        command = [sys.executable, "-m", "pagefind", "--site", str(site), "--output-path",
                   str(bundle), "--force-language", language, "--silent"]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            log.warning("search index skipped: pagefind did not run: %s", e)
            return False
        if done.returncode != 0 or not (bundle / "pagefind-entry.json").is_file():
            detail = done.stderr.decode("utf-8", "replace").strip()[-500:]
            log.warning("search index skipped: pagefind exited %d: %s", done.returncode, detail)
            return False
        return True


def remove_orphan_staging() -> int:
    """Record folders of indexers killed mid-build (their pid is no live process; the
    folders of versions that did not name the pid, whatever their owner); how many."""
    removed = 0
    for parent in {_scratch() or tempfile.gettempdir(), tempfile.gettempdir()}:
        with contextlib.suppress(OSError):
            for folder in Path(parent).glob(f"{STAGING}*"):
                pid = folder.name.removeprefix(STAGING).split("-", 1)[0]
                if folder.is_dir() and not (pid.isdigit() and pid_alive(int(pid))):
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
    return removed


def _scratch() -> str | None:
    """A memory-backed temp folder when the machine has one (Linux: /dev/shm)."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def _record_page(r: Record, language: str) -> str:
    """One record as the page Pagefind reads: the indexed text in the body, the address,
    date and filters as data attributes beside it."""
    filters = "".join(f'<span data-pagefind-filter="{escape(key)}">{escape(value)}</span>'
                      for key, values in r.filters.items() for value in values)
    return (f'<!DOCTYPE html><html lang="{escape(language)}"><head><meta charset="utf-8">'
            f"<title>{escape(r.title)}</title></head><body>"
            f'<span data-pagefind-meta="url">{escape(r.url)}</span>'
            f'<span data-pagefind-meta="tree_url">{escape(r.tree_url)}</span>'
            f'<span data-pagefind-meta="source">{escape(r.source)}</span>'
            f'<span data-pagefind-meta="date" data-pagefind-sort="date">{r.date}</span>'
            f"{filters}<main data-pagefind-body><h1 data-pagefind-meta=\"title\">"
            f"{escape(r.title)}</h1><p>{escape(r.content)}</p></main></body></html>")
