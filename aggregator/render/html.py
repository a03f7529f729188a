"""The hub's index.html, rendered with Jinja2 (autoescaping on; summaries are nh3-clean)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, select_autoescape

from ..models import StoredEntry
from . import FeedSpec


@dataclass(frozen=True)
class PageEntry:
    entry: StoredEntry
    source_name: str
    categories: tuple[tuple[str, str], ...]  # (id, label)


def _environment() -> Environment:
    return Environment(loader=PackageLoader("aggregator", "templates"),
                       autoescape=select_autoescape(["html"]), trim_blocks=True,
                       lstrip_blocks=True, keep_trailing_newline=True)


def render_index(title: str, language: str, feeds: Sequence[FeedSpec],
                 language_feeds: Sequence[FeedSpec], entries: Sequence[PageEntry],
                 counts: Mapping[str, int]) -> bytes:
    template = _environment().get_template("index.html")
    return template.render(title=title, language=language, feeds=feeds,
                           language_feeds=language_feeds, entries=entries,
                           counts=counts).encode("utf-8")
