"""Where every page of the site lives, as pure data: the language trees, the rivers in each,
and the pages of each river (the newest, the sealed archive pages, the months).

The root tree shows every entry with the hub's own language on its labels; each published
language has a tree under ``<lang>/`` with that language's entries and labels (the same
split as the per-language feeds). In every tree, a river is the stream of one listing:
all entries (``index.html``), one category (``category/<id>.html``) or one source
(``source/<id>.html``). A river pages like the feed archives (history.by_arrival): a full
page that is no longer the newest never changes again, so its name is a stable address."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from hashlib import sha1
from typing import Any, Generic

from aggregator.models import StoredEntry
from aggregator.render.history import by_arrival
from aggregator.stories.order import L, Listed, arrival, in_arrival_order, sorted_newest_first

MONTH_PAGE = 200  # entries on one month page; a busier month continues on "-p2", "-p3"


@dataclass(frozen=True)
class Tree:
    prefix: str  # "" for the root, else "<lang>/"
    language: str  # of the labels
    only: str | None  # entries in this language only (None: every entry)

    @property
    def hreflang(self) -> str:
        return self.only or "x-default"


@dataclass(frozen=True)
class River:
    kind: str  # all | category | source
    ident: str = ""

    @property
    def head(self) -> str:
        """The newest page, relative to the tree root."""
        return "index.html" if self.kind == "all" else f"{self.kind}/{self.ident}.html"

    @property
    def folder(self) -> str:
        """Where its older pages live, relative to the tree root."""
        return "" if self.kind == "all" else f"{self.kind}/{self.ident}/"

    def page(self, number: int) -> str:
        return f"{self.folder}page/{number}.html"

    def month(self, month: str, part: int = 1) -> str:
        return f"{self.folder}month/{month}{'' if part == 1 else f'-p{part}'}.html"

    @property
    def archive(self) -> str:
        return f"{self.folder}archive.html"

    def holds(self, e: StoredEntry) -> bool:
        if self.kind == "category":
            return self.ident in e.categories
        if self.kind == "source":
            return e.source_id == self.ident
        return True


@dataclass(frozen=True)
class Sheet(Generic[L]):
    """One page of a river: its entries (newest first; or their rows: publish/site.py lays
    pages out from rows and reads the entries of the pages it renders) and its neighbours."""

    name: str  # relative to the tree root
    entries: tuple[L, ...]
    newer: str | None = None
    older: str | None = None
    sealed: bool = False  # full and no longer the newest archive page: never changes again
    successor: str | None = None  # the page whose presence on disk says this one is sealed
    number: int = 0  # archive page number (0: the head, or a month page)
    month: str = ""  # YYYY-MM for month pages
    part: int = 1  # of a month's pages


def anchor(e: Listed) -> str:
    """A stable fragment id for an entry on any page."""
    return _anchor(e.key)


@lru_cache(maxsize=4096)  # an entry's card and article are made in each of its trees in turn
def _anchor(key: str) -> str:
    return "e-" + sha1(key.encode("utf-8")).hexdigest()[:12]


def pages(river: River, entries: list[L], size: int, depth: int | None = None
          ) -> tuple[Sheet[L], list[Sheet[L]], int]:
    """The head and the numbered archive pages (oldest first) of one river, and the number
    of its oldest page kept. With ``depth``, only the pages of about the newest ``depth``
    entries are kept (``depth // size`` pages): older entries are on the month pages. The
    oldest page kept is never sealed: when the one before it goes, its link to it goes."""
    current, chunks = by_arrival(entries, size)
    n = len(chunks)
    first = 1 if depth is None else max(1, n - depth // size + 1)
    head = Sheet(river.head, sorted_newest_first(current),
                 older=river.page(n) if n >= first else None)
    archive = [Sheet(river.page(k), sorted_newest_first(chunks[k - 1]),
                     newer=river.page(k + 1) if k < n else river.head,
                     older=river.page(k - 1) if k > first else None,
                     sealed=chunks.full(k - 1) and k < n and (k > first or k == 1),
                     successor=river.page(k + 1) if k < n else None, number=k)
               for k in range(first, n + 1)]
    return head, archive, first


def months(river: River, entries: list[L], ordered: bool = True) -> list[Sheet[L]]:
    """One page per month of publication (newest month first). A busier month is split
    into parts of MONTH_PAGE by arrival, the earliest arrivals in part 1: a story that
    arrives later joins its month's last part, so the other parts, and the addresses
    search results point at, stay as they were (in date order, 600 new stories once
    shifted all 364 parts of a month). Each part lists its entries newest first; the
    pages chain from the newest part of the newest month to part 1 of the oldest.
    ``ordered`` False: each part's entries left by arrival (month_page_of needs no more)."""
    by_number: dict[int, list[L]] = {}  # year * 16 + month: no string made per entry
    for e in in_arrival_order(entries):
        when = e.published
        number = when.year * 16 + when.month
        found = by_number.get(number)
        if found is None:
            found = by_number[number] = []
        found.append(e)
    names: list[tuple[str, int, tuple[L, ...]]] = []
    for number in sorted(by_number, reverse=True):
        month, found = f"{number // 16:04d}-{number % 16:02d}", by_number[number]
        chunks = [found[start:start + MONTH_PAGE] for start in range(0, len(found), MONTH_PAGE)]
        for part in range(len(chunks), 0, -1):
            arrived = chunks[part - 1]  # by arrival: enough to say where each entry is
            names.append((month, part, sorted_newest_first(arrived) if ordered
                          else tuple(arrived)))
    out: list[Sheet[L]] = []
    for i, (month, part, chunk) in enumerate(names):
        out.append(Sheet(river.month(month, part), chunk,
                         newer=river.month(*names[i - 1][:2]) if i else None,
                         older=river.month(*names[i + 1][:2]) if i + 1 < len(names) else None,
                         month=month, part=part))
    return out


class MonthPages:
    """Which month page shows an entry, from the month pages as ``months(ordered=False)``
    lays them out: a month's parts hold consecutive arrivals, so the part is found by
    bisecting the arrivals that begin them (no table of every entry: a card asks for a
    few hundred of 80,000)."""

    def __init__(self, month_sheets: list[Sheet[Any]]) -> None:
        parts: dict[str, list[Sheet[Any]]] = {}
        for sheet in reversed(month_sheets):  # part 1 first
            if sheet.entries:
                parts.setdefault(sheet.month, []).append(sheet)
        # by year * 16 + month, as months() numbers them: no "YYYY-MM" made per entry (a
        # build asks 250,000 times)
        self._parts = {int(m[:4]) * 16 + int(m[5:7]): (
            [p.name for p in found], [arrival(p.entries[0]) for p in found])
            for m, found in parts.items()}

    def get(self, e: Listed) -> str:
        """The name of the month page whose part holds ``e``'s arrival ("" when its month
        has none)."""
        when = e.published
        found = self._parts.get(when.year * 16 + when.month)
        if found is None:
            return ""
        names, starts = found
        return names[max(0, bisect_right(starts, arrival(e)) - 1)]


def month_page_of(river: River, month_sheets: list[Sheet[Any]]) -> dict[str, str]:
    """Entry key -> the month page (relative to the tree root) that shows it."""
    return {e.key: sheet.name for sheet in month_sheets for e in sheet.entries}
