"""What to render, decided in one place for the feeds, the site and the search index.

A publish renders everything (``dirty`` None) when asked, when the outputs were built by
another version or config (the build id), or when the output dir was emptied under us;
otherwise what the store's dirty markers touch. A listing is touched when its language,
category or source is among the markers. A sealed page (full, no longer the newest, and its
successor already on disk) is never rendered again; Atom archive pages stay sealed even in a
whole build, the site's pages are rendered again then (their words and layout may change).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from aggregator.config import Settings
from aggregator.config.taxonomy import primary_language
from aggregator.models import Dirty, changed_since
from aggregator.publish.sink import Sink
from aggregator.version import __version__

BUILD_ID = PurePosixPath(".build-id")  # in the outputs: what they were built with
FIRST_PAGE = PurePosixPath("index.html")  # missing: the output dir was emptied


def build_id(settings: Settings) -> bytes:
    """What the outputs depend on besides the entries: the version, the settings and the
    theme's files (an edited one rebuilds the pages, in a running service too)."""
    seen = f"{_settings_seen(settings)}, {_theme_files(settings.output.theme)!r})"
    return hashlib.sha256(seen.encode()).hexdigest().encode() + b"\n"


def _settings_seen(settings: Settings) -> str:
    """The version and the settings as the start of a tuple's repr, made once per settings
    object (a publish asks twice; at 2,000 sources it is 18 ms)."""
    kept = _seen.get(id(settings))
    if kept is None or kept[0] is not settings:
        s = settings
        _seen.clear()
        kept = _seen[id(settings)] = (settings, "(" + ", ".join(map(repr, (
            __version__, s.hub, s.output, s.site, s.categories, s.sources, s.retention))))
    return kept[1]


_seen: dict[int, tuple[Settings, str]] = {}  # the last settings object's text


def _theme_files(theme: Path | None) -> list[tuple[str, int, int]]:
    """An operator's theme as the pages depend on it: an edited file rebuilds them."""
    if theme is None:
        return []
    return sorted((str(p.relative_to(theme)), p.stat().st_size, p.stat().st_mtime_ns)
                  for p in theme.rglob("*") if p.is_file())


@dataclass(frozen=True)
class RenderPlan:
    dirty: Dirty | None  # None: everything
    home: str  # the hub's language: entries that name none are in it
    on_disk: Callable[[str], bool] = lambda name: False  # by its folder's listing (Sink.present)

    @classmethod
    def of(cls, settings: Settings, sink: Sink, dirty: Dirty, full: bool = False
           ) -> RenderPlan:
        """The plan of one publish from the store's markers and the outputs on disk."""
        whole = full or sink.read(BUILD_ID) != build_id(settings) or \
            not sink.exists(FIRST_PAGE)
        return cls(None if whole else dirty, settings.hub.language, sink.present)

    @property
    def whole(self) -> bool:
        return self.dirty is None

    @property
    def quiet(self) -> bool:
        """No entry changed: only what follows the sources' health is rendered."""
        return self.dirty is not None and not self.dirty

    def months(self) -> dict[str, datetime | None] | None:
        """The months of publication whose entries changed, each with the earliest arrival
        that changed in it (None: any of the month's; the whole: any month may have)."""
        if self.dirty is None or self.dirty.months is None:
            return None
        return changed_since(self.dirty.months)

    def touches(self, only_language: str | None = None, category: str | None = None,
                source: str | None = None) -> bool:
        """Whether entries that changed can show in a listing of ``only_language`` (None:
        every language), ``category`` and ``source`` (None: any)."""
        d = self.dirty
        if d is None:
            return True
        if not d:
            return False
        if only_language is not None and not any(
                primary_language(tag or self.home) == only_language for tag in d.languages):
            return False
        return (category is None or category in d.categories) and \
            (source is None or source in d.sources)

    def sealed(self, page: str, successor: str | None, also_when_whole: bool = False
               ) -> bool:
        """A sealed page: its successor is on disk, so its bytes never change again; and it
        is on disk itself (one that a crash left empty is taken away at the next start:
        files.remove_orphan_temporaries, then rendered again here)."""
        if self.whole and not also_when_whole:
            return False
        return successor is not None and self.on_disk(successor) and self.on_disk(page)
