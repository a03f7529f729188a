"""Build the site: for every language tree, every river's newest page, archive pages, month
pages and archive index; the sources page, each source's page and each member report; and
the search records. Only rivers that the dirty markers touch are rendered again; a sealed
archive page already on disk is not rendered at all (a full build renders everything).

Pages are laid out from the store's rows (store/rows.py: no entry's text is read for that);
only the entries of the pages rendered are read, so a small change reads a few entries,
whatever the history (a full build reads each for the rivers that show it, in every tree
at once, and for its month pages: river by river, then month part by part)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from heapq import merge
from operator import attrgetter
from pathlib import PurePosixPath
from typing import Any

from markupsafe import Markup, escape

from aggregator.config import Settings
from aggregator.config.taxonomy import Taxonomy, primary_language
from aggregator.dates import from_iso
from aggregator.models import SourceHealth, StoredEntry
from aggregator.publish.memo import UNCHANGED, Memo
from aggregator.publish.plan import RenderPlan
from aggregator.publish.reads import Reads
from aggregator.publish.sink import Sink
from aggregator.render.site.i18n import translations, words
from aggregator.render.site.layout import (
    MonthPages,
    River,
    Sheet,
    Tree,
    anchor,
    months,
    pages,
)
from aggregator.render.site.pages import (
    Alternate,
    Chrome,
    Copy,
    PageEntry,
    feed_links,
    forget_articles,
    render,
)
from aggregator.store import Store
from aggregator.store.bulk import kept_in_bulk
from aggregator.store.rows import Row
from aggregator.stories.order import (
    Arrived,
    arrival,
    in_arrival_order,
    sorted_newest_first,
)


def trees(settings: Settings) -> list[Tree]:
    """The all-languages tree at the root, then one per published language."""
    hub = settings.hub
    languages = dict.fromkeys(primary_language(x) for x in hub.languages)
    return [Tree("", primary_language(hub.language), None)] + [
        Tree(f"{lang}/", lang, lang) for lang in languages]


def remove_source_pages(settings: Settings, sink: Sink, source_id: str) -> None:
    """A purged source's pages and member reports, in every tree (publishing no longer
    renders them, so nothing else would take them down)."""
    for tree in trees(settings):
        sink.remove(PurePosixPath(f"{tree.prefix}source/{source_id}.html"))
        sink.remove_folder(f"{tree.prefix}source/{source_id}")
        sink.remove(PurePosixPath(f"{tree.prefix}members/{source_id}.html"))


@dataclass
class SiteBuild:
    settings: Settings
    store: Store
    taxonomy: Taxonomy
    health: Sequence[SourceHealth]
    plan: RenderPlan  # what to render (publish/plan.py)
    fresh: Memo = field(default_factory=Memo)
    out: MutableMapping[str, bytes] = field(default_factory=dict)  # or written as it comes
    listed: dict[tuple[str, River], int] = field(default_factory=dict)  # a river's entries
    read: Reads | None = None  # the entries of the pages rendered (None: its own)
    drop: Callable[[str], None] = lambda name: None  # an output (or "folder/") to remove

    def __post_init__(self) -> None:
        self.trees = trees(self.settings)
        self.names = {s.id: s.name for s in self.settings.sources}
        self.home_language = self.settings.hub.language
        self.by_health = {h.id: h for h in self.health}
        self._copies: dict[str, tuple[Copy, ...]] = {}
        self._month_set: dict[str, set[str]] = {}  # each tree's months (month_set)
        self._items: dict[str, PageEntry] = {}
        self._items_for: tuple[str, bool] = ("", False)  # (tree, cards) they were made for
        self._rows: dict[str, list[Row]] = {}  # each tree's entries, when known
        self._months: dict[str, list[Sheet[Row]]] = {}  # each tree's month pages
        self._month_page: dict[str, MonthPages] = {}  # each tree's (month_page)
        self._copy_rows: dict[str, list[Row]] | None = None  # a primary's copies, by key
        self._shown: dict[tuple[str, str], tuple[object, ...]] = {}  # see shown()
        self._escaped: dict[str, tuple[str, str, str]] = {}  # see escaped()
        self._moved: dict[str, bool] = {}  # see moved()
        self._month_work: list[tuple[Tree, River, list[Sheet[Row]], bool]] = []  # river()
        self.entries = self.read or Reads(self.store)

    # -- what is in each tree ------------------------------------------------------------

    def entries_of(self, tree: Tree, everything: list[Row]) -> list[Row]:
        if tree.only is None:
            return everything
        home = self.home_language
        return [e for e in everything if primary_language(e.language or home) == tree.only]

    def rivers(self, everything: list[Row]) -> list[River]:
        """All, each category, each source (configured, or still holding entries)."""
        sources = dict.fromkeys([s.id for s in self.settings.sources] + sorted(
            set(map(attrgetter("source_id"), everything))))  # in C: 80,000 rows
        return ([River("all")] + [River("category", c) for c in self.taxonomy.ids]
                + [River("source", s) for s in sources])

    @staticmethod
    def split(rivers: list[River], entries: list[Row]) -> dict[River, list[Row]]:
        """Each river's entries (by arrival), in one pass over the tree's entries."""
        out: dict[River, list[Row]] = {r: Arrived() for r in rivers}  # in their order
        every = out[River("all")]
        for e in in_arrival_order(entries):
            every.append(e)
            out.setdefault(River("source", e.source_id), Arrived()).append(e)
            for c in e.categories:
                out.setdefault(River("category", c), Arrived()).append(e)
        return out

    # -- the whole build -----------------------------------------------------------------

    def build(self) -> MutableMapping[str, bytes]:
        forget_articles()
        if self.plan.quiet:  # no entry changed: only the health pages
            for tree in self.trees:
                self.source_heads(tree, [River("source", s.id) for s in self.settings.sources],
                                  lambda tree, river: None)
            self.status_pages()
            return self.out
        listing = self.entries.listing()  # by arrival: pages and months cut without sorting
        everything = self.entries.shown()
        self._copy_rows = {}
        for r in sorted((r for r in listing if r.duplicate_of), key=lambda r: r.key):
            self._copy_rows.setdefault(r.duplicate_of or "", []).append(r)
        if self.plan.whole:  # every page: every entry, read at once when few enough
            self.entries.everything()
        rivers = self.rivers(everything)
        self._rows = {t.prefix: self.entries.listed(None, t.only, self.home_language)
                      for t in self.trees}  # cut with the feeds'
        found_of = self.found_of
        if self.plan.whole:  # every river: split in one pass
            with kept_in_bulk():
                split = {t.prefix: self.split(rivers, self._rows[t.prefix])
                         for t in self.trees}

            def found_of(tree: Tree, river: River) -> list[Row]:
                return split[tree.prefix].get(river, [])
        else:
            self.prefetch(rivers, found_of)
        # river by river, each in every tree: an entry is read for its river's pages in all
        # the trees at once (a whole build keeps few entries read: Reads.keep)
        untouched: dict[str, list[River]] = {t.prefix: [] for t in self.trees}
        for river in rivers:
            for tree in self.trees:
                if self.touched(tree, river):
                    self.river(tree, river, found_of(tree, river), full=self.plan.whole)
                elif river.kind == "source":
                    untouched[tree.prefix].append(river)
        self.month_pages()
        for tree in self.trees:
            self.source_heads(tree, untouched[tree.prefix], found_of if self.plan.whole
                              else lambda tree, river: None)  # read if its health moved
            self.search_page(tree)
        self.status_pages()
        return self.out

    def found_of(self, tree: Tree, river: River) -> list[Row]:
        """A river's rows in ``tree``, by arrival (a small publish reads the rivers it
        renders, not every one: categories are cut once with the feeds, a source's rows
        come from its index)."""
        if river.kind == "source":
            return in_arrival_order(self.entries_of(tree, self.store.rows(
                source_id=river.ident)))
        return self.entries.listed(river.ident if river.kind == "category" else None,
                                   tree.only, self.home_language)

    def prefetch(self, rivers: list[River], found_of: Callable[[Tree, River], list[Row]]
                 ) -> None:
        """Read the entries of the touched rivers' newest pages in one answer: page by page,
        a partner's shard (a megabyte at 2,000 sources) was parsed again for each page
        showing one of its entries."""
        size, depth = self.settings.output.entries_per_feed, self.settings.site.river_depth
        wanted: dict[str, Row] = {}
        for tree in self.trees:
            for river in rivers:
                if self.touched(tree, river):
                    head, archive, _ = pages(river, found_of(tree, river), size, depth)
                    for sheet in [head, *archive]:
                        if sheet.sealed or (river.kind != "source"
                                            and not self.moved(tree, sheet)):
                            continue
                        wanted.update((r.key, r) for r in sheet.entries)
        self.entries(list(wanted.values()))

    def touched(self, tree: Tree, river: River) -> bool:
        return self.plan.touches(tree.only,
                                 category=river.ident if river.kind == "category" else None,
                                 source=river.ident if river.kind == "source" else None)

    # -- one river -----------------------------------------------------------------------

    def river(self, tree: Tree, river: River, found: list[Row], full: bool) -> None:
        """A river's newest page and its by-arrival pages back to the site's depth, as
        cards; the tree's river of every entry also has the month pages, the archive of
        record, where each entry's article is (month_pages: once every river is done)."""
        self.listed[(tree.prefix, river)] = len(found)
        size = self.settings.output.entries_per_feed
        head, archive, first = pages(river, found, size, self.settings.site.river_depth)
        self.head(tree, river, head)
        for sheet in archive:
            if sheet.sealed and sheet.successor and self.plan.sealed(
                    tree.prefix + sheet.name, tree.prefix + sheet.successor):
                continue  # sealed in an earlier build: its bytes never change
            if not self.moved(tree, sheet):
                continue  # as it was
            title = self.title(tree, river) + " · " + self.gettext(tree)(
                "Page %(number)s") % {"number": sheet.number}
            self.sheet(tree, river, sheet, title)
        self.drop_older(tree, river, first)
        if river.kind != "all":
            if full:  # the month pages earlier versions wrote for every river
                self.drop(f"{tree.prefix}{river.folder}month/")
            self.archive_index(tree, river, archive, [])
            return
        self._month_work.append((tree, river, archive, full))  # month_pages, next

    def month_pages(self) -> None:
        """The month pages of the trees whose river of every entry was rendered, then their
        archive indexes. The trees' pages are taken in one order, newest arrivals first (a
        month may hold most of the history): the entries read for a part of one tree are
        the ones the other trees' parts beside it show, so they are read once."""
        work, self._month_work = self._month_work, []
        changed = {tree.prefix: None if full else self.plan.months()
                   for tree, _, _, full in work}
        trees = [[(sheet.month, arrival(sheet.entries[0]), i, tree, river, full)
                  for i, sheet in enumerate(self.month_sheets(tree))]
                 for tree, river, _, full in work]
        for _, _, i, tree, river, full in merge(*trees, key=lambda t: t[:2], reverse=True):
            self.month_sheet(tree, river, i, changed[tree.prefix], full)
        for tree, river, archive, _ in work:
            self.archive_index(tree, river, archive, self.month_sheets(tree))

    def month_sheet(self, tree: Tree, river: River, i: int,
                    months: Mapping[str, datetime | None] | None, full: bool) -> None:
        """Month page ``i`` of ``tree`` (``months``: the months changed; None: every one),
        unless none of what it shows moved."""
        month_sheets = self.month_sheets(tree)
        sheet = month_sheets[i]
        if months is not None and not near(month_sheets, i, months) and self.fresh(
                tree.prefix + sheet.name, UNCHANGED):
            return  # no entry of its month changed, nor of a month beside it
        sheet = replace(sheet, entries=sorted_newest_first(sheet.entries))  # month_sheets
        shown = (sheet.newer, sheet.older, tuple(
            (e.key, e.content_hash, e.updated, e.via, e.copied_by) for e in sheet.entries))
        if self.fresh(tree.prefix + sheet.name, shown) and not full:
            return  # a month whose entries did not change: the page on disk holds
        fmt = words(tree.language)
        month = fmt.month(sheet.entries[0].published)
        title = f"{self.title(tree, river)} · {month}"
        if sheet.part > 1:
            title += f" ({sheet.part})"
        self.sheet(tree, river, sheet, title, articles=True)

    def moved(self, tree: Tree, sheet: Sheet[Row]) -> bool:
        """Whether a river's head or a numbered page not sealed yet is rendered: in a whole
        build, always; else when its entries, their month pages or its links moved since it
        was last rendered (the plan marks listings by category and language apart, so a
        touched listing may hold none of the changes). Decided once a publish: ``fresh``
        keeps the digest it is asked about."""
        name = tree.prefix + sheet.name
        found = self._moved.get(name)
        if found is None:
            month = self.month_page(tree)
            shown = (sheet.newer, sheet.older, tuple(
                (e.key, e.content_hash, e.updated, e.via, e.copied_by, month.get(e))
                for e in sheet.entries))
            found = self._moved[name] = not self.fresh(name, shown) or self.plan.whole
        return found

    def drop_older(self, tree: Tree, river: River, first: int) -> None:
        """The by-arrival pages that went past the depth (newest first, until one that is
        not there: the ones before it went in earlier builds)."""
        for k in range(first - 1, 0, -1):
            name = tree.prefix + river.page(k)
            if not self.plan.on_disk(name):
                break
            self.drop(name)

    def month_sheets(self, tree: Tree) -> list[Sheet[Row]]:
        """The tree's month pages (of its river of every entry)."""
        if tree.prefix not in self._months:
            rows = self._rows.get(tree.prefix)
            if rows is None:  # a source's page alone, in a quiet publish
                rows = self._rows[tree.prefix] = self.entries_of(tree, self.store.rows())
            # each part by arrival: sorted newest first when it is digested or rendered
            with kept_in_bulk():  # the tree's rows again, in parts: frozen as the listing
                self._months[tree.prefix] = months(River("all"), rows, ordered=False)
        return self._months[tree.prefix]

    def month_set(self, tree: Tree) -> set[str]:
        """The months ``tree`` has pages for (from its month pages, laid out once)."""
        found = self._month_set.get(tree.prefix)
        if found is None:
            found = self._month_set[tree.prefix] = {s.month for s in self.month_sheets(tree)}
        return found

    def month_page(self, tree: Tree) -> MonthPages:
        """Which month page of ``tree`` holds an entry's article."""
        if tree.prefix not in self._month_page:
            self._month_page[tree.prefix] = MonthPages(self.month_sheets(tree))
        return self._month_page[tree.prefix]

    def source_heads(self, tree: Tree, rivers: list[River],
                     found_of: Callable[[Tree, River], list[Row] | None]) -> None:
        """Untouched sources' newest pages: rendered again only when their health moved
        (checked in one pass: 2,000 sources in every tree)."""
        keys = self.health_keys
        names = [(river, tree.prefix + river.head, keys.get(river.ident)) for river in rivers]
        stale = self.fresh.stale((name, key) for _, name, key in names if key is not None)
        for river, name, key in names:
            if key is None or name in stale:
                self.source_head(tree, river, found_of(tree, river))

    def health_key(self, source_id: str) -> tuple[object, ...] | None:
        """What a source's page shows of its health (one key object for every tree)."""
        return self.health_keys.get(source_id)

    @cached_property
    def health_keys(self) -> dict[str, tuple[object, ...]]:
        """Each source's health_key, made once (2,000 sources' pages in every tree)."""
        return {h.id: self.health_shown(h) for h in self.health}

    def source_head(self, tree: Tree, river: River, found: list[Row] | None) -> None:
        """An untouched source's newest page (``found`` None: its entries read now)."""
        if found is None:
            found = self.entries_of(tree, self.store.rows(source_id=river.ident))
        self.listed[(tree.prefix, river)] = len(found)
        head, _, _ = pages(river, found, self.settings.output.entries_per_feed)
        self.head(tree, river, head)

    def shown(self, what: tuple[str, str], make: Callable[[], tuple[object, ...]]
              ) -> tuple[object, ...]:
        """What a source's page shows, made once for every tree (``fresh`` digests a key
        once: 2,000 sources' pages in five trees)."""
        found = self._shown.get(what)
        if found is None:
            found = self._shown[what] = make()
        return found

    @staticmethod
    def health_shown(h: SourceHealth) -> tuple[object, ...]:
        """What a source's page shows of its health: the day of the last success, not the
        minute, so a healthy source's page stays the same all day."""
        last = from_iso(h.last_success)
        return (h.name, h.kind, h.state, h.url, h.entries, h.last_error,
                last.date() if last else None)

    def head(self, tree: Tree, river: River, sheet: Sheet[Row]) -> None:
        if river.kind == "source":
            key = self.health_key(river.ident)
            if key is not None:  # remembered: the next publish may skip it
                self.fresh(tree.prefix + sheet.name, key)
            self.out[tree.prefix + sheet.name] = self.render_source(tree, river, sheet)
        elif self.moved(tree, sheet):  # a listing the plan touches may not have changed
            self.sheet(tree, river, sheet, self.title(tree, river))

    def sheet(self, tree: Tree, river: River, sheet: Sheet[Row], title: str,
              articles: bool = False) -> None:
        """A page of entries: cards, or (``articles``: a month page) their articles."""
        feeds = self.feeds(tree, river)
        self.out[tree.prefix + sheet.name] = render(
            "river.html", self.chrome(tree, river, sheet.name), title, feeds, sheet,
            heading=title, feeds=feeds,
            items=self.items(tree, self.entries(sheet.entries), cards=not articles),
            archive=river.archive)

    def render_source(self, tree: Tree, river: River, sheet: Sheet[Row]) -> bytes:
        h = self.by_health.get(river.ident)
        if h is None:  # entries of a source no longer configured
            h = SourceHealth(river.ident, self.names.get(river.ident, river.ident), "member",
                             "", "removed", None, None, None, 0, None, None, 0)
        state = self.store.source_state(river.ident)
        meta = state.feed if state else None
        title = self.title(tree, river)
        feeds = self.feeds(tree, river)
        return render("source.html", self.chrome(tree, river, sheet.name), title, feeds, sheet,
                      heading=title, feeds=feeds,
                      items=self.items(tree, self.entries(sheet.entries)),
                      archive=river.archive, h=h, last_success=from_iso(h.last_success),
                      listed=self.listed.get((tree.prefix, river), h.entries),
                      site_link=meta.link if meta else None,
                      feed_link=h.url if h.url.startswith(("http://", "https://"))
                      else meta.self_link if meta else None)  # a bundled file: its own

    def archive_index(self, tree: Tree, river: River, archive: list[Sheet[Row]],
                      month_sheets: list[Sheet[Row]]) -> None:
        """A river's pages and months (a river other than every entry's: its pages, and a
        link to the tree's months)."""
        fmt, _ = words(tree.language), self.gettext(tree)
        counts: dict[str, tuple[str, int]] = {}
        for sheet in month_sheets:
            name, count = counts.get(sheet.month, (sheet.name, 0))
            counts[sheet.month] = (name, count + len(sheet.entries))
        month_list = [(name, fmt.month(self.month_start(m)), n)
                      for m, (name, n) in counts.items()]
        page_list = [(s.name, s.number, fmt.date(s.entries[-1].published),
                      fmt.date(s.entries[0].published))
                     for s in reversed(archive) if s.entries]
        title = self.title(tree, river)
        heading = _("Archive") + " · " + title
        self.out[tree.prefix + river.archive] = render(
            "archive.html", self.chrome(tree, river, river.archive), heading,
            self.feeds(tree, river), heading=heading, month_list=month_list,
            page_list=page_list, river_head=river.head, river_title=title,
            month_archive=None if river.kind == "all" else River("all").archive)

    @staticmethod
    def month_start(month: str) -> datetime:
        return datetime(int(month[:4]), int(month[5:7]), 1, tzinfo=UTC)

    # -- the pages that follow the sources' health --------------------------------------

    def status_pages(self) -> None:
        for tree in self.trees:
            self.sources_page(tree)
            keys = self.member_keys
            names = [(h, f"{tree.prefix}members/{h.id}.html") for h in self.health]
            stale = self.fresh.stale((name, keys[h.id]) for h, name in names)
            for h, name in names:
                if name in stale:
                    self.member_page(tree, h, name)

    @cached_property
    def member_keys(self) -> dict[str, tuple[object, ...]]:
        """What each member's report page shows (member_shown), made once for every tree."""
        return {h.id: self.member_shown(h) for h in self.health}

    def sources_page(self, tree: Tree) -> None:
        """Every source's health, with the day of its last success (the minute would make
        the page, 0.5 MB at 2,000 sources, change with every poll; status.json has it):
        rendered again only when what it shows moved."""
        rows = self.last_successes
        shown = self.shown(("sources", ""), lambda: tuple(
            (h.id, h.name, h.kind, h.state, last.date() if last else None, h.entries,
             h.last_error) for h, last in rows))
        if self.fresh(tree.prefix + "sources.html", shown):
            return
        _ = self.gettext(tree)
        heading = _("Sources")
        chrome = self.chrome(tree, None, "sources.html", "sources")
        self.out[tree.prefix + "sources.html"] = render(
            "sources.html", chrome, heading,
            feed_links(f"{tree.prefix}all", self.settings.hub.title_in(tree.only)),
            heading=heading, rows=self.source_rows(tree, chrome.home, rows))

    @cached_property
    def last_successes(self) -> list[tuple[SourceHealth, datetime | None]]:
        """Each source's health with the time of its last success (read once, every tree)."""
        return [(h, from_iso(h.last_success)) for h in self.health]

    def source_rows(self, tree: Tree, home: str,
                    rows: list[tuple[SourceHealth, datetime | None]]) -> Markup:
        """The sources table's rows, escaped here as the template would (Jinja's per-cell
        escaping and calls were most of the page: 2,000 rows, five trees); each source's
        own words escaped once for every tree, each kind and state translated once."""
        _, fmt = self.gettext(tree), words(tree.language)
        said: dict[tuple[str, object], str] = {}  # each label, date and count made once (as str:
        # formatting Markup into an f-string is 4x the cost of a str)

        def once(key: tuple[str, object], make: Callable[[Any], str], arg: Any) -> str:
            found = said.get(key)
            if found is None:
                found = said[key] = str(escape(make(arg)))
            return found
        report, home = str(escape(_("Feed report"))), str(escape(home))
        out = []
        for h, last in rows:
            ident, name, error = self.escaped(h)
            kind, state = once(("label", h.kind), _, h.kind), once(("label", h.state), _, h.state)
            day = once(("date", last.date()), fmt.date, last) if last else "-"
            count = once(("count", h.entries), fmt.number, h.entries)
            out.append(
                f'<tr><th scope="row"><a href="{home}source/{ident}.html">{name}</a></th>'
                f"<td>{kind}</td><td>{state}</td><td>{day}</td><td>{count}</td>"
                f'<td>{error}</td><td><a href="{home}members/{ident}.html">{report}'
                f'<span class="skip"> {name}</span></a></td></tr>\n')
        return Markup("".join(out))

    def escaped(self, h: SourceHealth) -> tuple[str, str, str]:
        """A source's id, name and last error as HTML, made once for every tree."""
        found = self._escaped.get(h.id)
        if found is None:
            found = self._escaped[h.id] = (str(escape(h.id)), str(escape(h.name)),
                                           str(escape(h.last_error or "")))
        return found

    def member_page(self, tree: Tree, h: SourceHealth, name: str) -> None:
        """A member's feed report, ``name`` (status_pages: when what it shows moved)."""
        state = self.store.source_state(h.id)
        report, read_at = (state.report, state.report_at) if state else ((), None)
        heading = self.gettext(tree)("How the hub reads %(name)s") % {"name": h.name}
        self.out[name] = render(
            "member.html", self.chrome(tree, None, f"members/{h.id}.html"), heading,
            heading=heading, h=h, report=report, checked=read_at,
            silent=from_iso(h.silent_since))

    def member_shown(self, h: SourceHealth) -> tuple[object, ...]:
        """What a member's report page shows: the report is new only with a new reading
        time (schedule._read_notes), so its lines are not digested (2,000 reports were a
        tenth of a small publish)."""
        state = self.store.source_state(h.id)
        report, read_at = (state.report, state.report_at) if state else ((), None)
        return (h.url, h.kind, h.state, h.name, len(report), read_at, h.silent_since)

    def search_page(self, tree: Tree) -> None:
        heading = self.gettext(tree)("Search")
        self.out[tree.prefix + "search.html"] = render(
            "search.html", self.chrome(tree, None, "search.html", "search"), heading,
            heading=heading, only=tree.only)

    # -- shared pieces -------------------------------------------------------------------

    def gettext(self, tree: Tree) -> Callable[[str], str]:
        return translations(tree.language).gettext

    def title(self, tree: Tree, river: River) -> str:
        _ = self.gettext(tree)
        fmt = words(tree.language)
        if river.kind == "category":
            return self.taxonomy.label(river.ident, tree.language)
        if river.kind == "source":
            return self.names.get(river.ident, river.ident)
        if tree.only is None:
            return _("Latest news")
        return _("News in %(language)s") % {"language": fmt.language_name(tree.only)}

    def feeds(self, tree: Tree, river: River) -> list[dict[str, str]]:
        if river.kind == "source":
            return []
        name = "all" if river.kind == "all" else river.ident
        return feed_links(f"{tree.prefix}{name}", self.title(tree, river))

    def chrome(self, tree: Tree, river: River | None, name: str, current: str = ""
               ) -> Chrome:
        up = "../" * (tree.prefix + name).count("/")
        if river is not None and name == river.head and river.kind != "all":
            current = f"{river.kind}/{river.ident}"
        elif river is not None and name == river.archive and river.kind == "all":
            current = "archive"
        return Chrome(self.settings.hub.title_in(tree.only), tree.language, up,
                      "../" * name.count("/"),
                      tuple((c, self.taxonomy.label(c, tree.language))
                            for c in self.taxonomy.ids),
                      self.alternates(tree, river, name), current,
                      str(self.settings.output.theme) if self.settings.output.theme else None)

    def alternates(self, here: Tree, river: River | None, name: str) -> tuple[Alternate, ...]:
        base = self.settings.hub.base_url
        _ = self.gettext(here)
        out = []
        for tree in self.trees:
            same = self.same_page(tree, river, name)
            label = (_("All languages") if tree.only is None
                     else words(tree.language).own_name(tree.only))
            out.append(Alternate(tree.hreflang, label, tree.prefix + same,
                                 base + tree.prefix + same, tree == here))
        return tuple(out)

    def same_page(self, tree: Tree, river: River | None, name: str) -> str:
        """The page of ``tree`` that shows what ``name`` shows in its own tree."""
        if river is None or name in (river.head, river.archive):
            return name
        if "/month/" in "/" + name:
            month = name.rsplit("/", 1)[-1][:7]
            if river.kind == "all" and month in self.month_set(tree):
                return river.month(month)
            return river.archive
        return river.head  # numbered pages differ between trees

    def items(self, tree: Tree, entries: Sequence[StoredEntry], cards: bool = True
              ) -> list[PageEntry]:
        """The entries as ``tree``'s pages show them (cards, or articles): each made once
        per tree (an entry is on a few pages of a tree), rivers before months."""
        if self._items_for != (tree.prefix, cards):
            self._items, self._items_for = {}, (tree.prefix, cards)
        kept = self._items
        out = []
        for e in entries:
            item = kept.get(e.key)
            if item is None or item.entry is not e:
                item = kept[e.key] = self.item(tree, e, cards)
            out.append(item)
        return out

    def item(self, tree: Tree, e: StoredEntry, card: bool) -> PageEntry:
        lang = tree.language
        return PageEntry(e, self.names.get(e.source_id, e.source_id),
                         tuple((c, self.taxonomy.label(c, lang)) for c in e.categories
                               if c in self.taxonomy.order),  # one taken out: no link
                         self.copies(e), anchor(e), e.language or self.home_language,
                         month=self.month_page(tree).get(e) if card else "",
                         card=card)

    def copies(self, e: StoredEntry) -> tuple[Copy, ...]:
        """The other sources' copies of this story, each named once."""
        if not (e.via or e.copied_by):
            return ()
        if e.key not in self._copies:
            found: dict[str, Copy] = {}
            copies: Sequence[Row | StoredEntry] = (
                self.store.copies_of(e.key) if self._copy_rows is None
                else self._copy_rows.get(e.key, []))  # rows name them: nothing to read
            for copy in copies:  # same-link copies are not in `via`
                if copy.source_id != e.source_id:
                    found.setdefault(copy.source_id, Copy(
                        copy.source_id, self.names.get(copy.source_id, copy.source_id),
                        copy.link))
            self._copies[e.key] = tuple(found.values())
        return self._copies[e.key]


def near(sheets: Sequence[Sheet[Row]], i: int, months: Mapping[str, datetime | None]
         ) -> bool:
    """Whether a changed month is the month of sheet ``i`` (newest first) or lies between
    it and a sheet beside it: its entries, or its newer and older links, may have moved (a
    month gone leaves its neighbours side by side). In its own month, a part moves only
    when a change arrived no later than the next part's first entry: the parts before
    that one hold the same entries, in the same places, as before (``sheets`` as
    month_sheets lays them out: each part's entries by arrival)."""
    sheet = sheets[i]
    older = sheets[i + 1].month if i + 1 < len(sheets) else ""
    newer = sheets[i - 1].month if i else "9999-99"
    for month, since in months.items():
        if not older <= month <= newer:
            continue
        if month != sheet.month or since is None or newer != month:
            return True  # another month beside it, any of its own, or its newest part
        if sheets[i - 1].entries[0].first_seen >= since:
            return True  # the changes reach the next part's first entry: this one too
    return False
