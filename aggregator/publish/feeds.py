"""Render the outputs that changed entries touch; write only files whose bytes changed.

The store's dirty markers (models.Dirty) say which categories, languages and sources the
entries written since the last publish belong to (before and after a change). A feed is
rendered when its category (any, for the combined feeds) and its language are touched; the
site's pages when anything is (each shows every category's count); the status outputs
always. ``dirty=None`` renders everything (a first build, a changed config).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from importlib import resources
from pathlib import PurePosixPath
from typing import Any

import orjson

from aggregator.config import Settings
from aggregator.config.taxonomy import Taxonomy, primary_language
from aggregator.models import Dirty, SourceHealth
from aggregator.publish.memo import Memo
from aggregator.publish.plan import RenderPlan
from aggregator.publish.reads import Reads
from aggregator.publish.search import (
    BUNDLE,
    Record,
    build_index,
    placed_shards,
    with_text,
)
from aggregator.publish.sink import Sink
from aggregator.publish.site import SiteBuild
from aggregator.render import FeedSpec
from aggregator.render.atom import render_atom, render_rss, render_status_atom
from aggregator.render.history import Page, paginate
from aggregator.render.jsonfeed import render_json_feed
from aggregator.render.opml import render_feeds_opml, render_sources_opml
from aggregator.render.site.pages import THEME_CSS, theme_css
from aggregator.render.status import render_status
from aggregator.store import Store
from aggregator.store.rows import Row

log = logging.getLogger("aggregator.publish")

MEMO = PurePosixPath(".rendered")  # what each health page was rendered from (digests)
STATUS_EVENTS = 100  # entries in status.atom
SEARCH_EVERY = 600.0  # seconds: a big network's search index is rebuilt at most this often
FEW_FIRST = 2  # shards a whole build indexes before its pages when its index was pending
SEARCH_SMALL = 2000  # stories: an index this small is rebuilt with every publish
KEEP_READ = 2048  # entries a whole build keeps once read (publish/reads.py): a river's
# pages, or the month parts beside one another in every tree (at N=2000, 2,048 and 8,192
# read 152,035 and 149,733 entries: each of 72,000 twice, as cards and as articles)
SHARDS = "shards.json"  # in pagefind/: the shard folders, newest first, and their digests
MARKER = "records.sha256"  # in pagefind/: what the whole index was built from, and when
UI_ASSETS = ("pagefind-ui.js", "pagefind-ui.css")
SEARCH_JS = resources.files("aggregator.render.site").joinpath("search.js").read_bytes()
FAVICON = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
           b'<circle cx="8" cy="8" r="7" fill="#0645ad"/></svg>\n')


def feed_specs(settings: Settings, taxonomy: Taxonomy, language: str | None = None
               ) -> list[FeedSpec]:
    """The combined feed, then one per category (the fallback last); with ``language``, the
    same set for entries in that language, under ``<language>/``."""
    hub = settings.hub
    lang = language or hub.language
    prefix = f"{language}/" if language else ""
    suffix = f" ({language})" if language else ""
    title = hub.title_in(language) if language else hub.title
    specs = [FeedSpec(f"{prefix}all", title + suffix, f"{hub.id}feeds/{prefix}all",
                      f"{hub.base_url}{prefix}all.atom", hub.base_url, lang,
                      only_language=language)]
    for cid in taxonomy.ids:
        specs.append(FeedSpec(f"{prefix}{cid}", f"{title}: {taxonomy.label(cid, lang)}"
                              + suffix, f"{hub.id}feeds/{prefix}{cid}",
                              f"{hub.base_url}{prefix}{cid}.atom", hub.base_url, lang,
                              category=cid, only_language=language))
    return specs


def language_specs(settings: Settings, taxonomy: Taxonomy) -> list[FeedSpec]:
    """Per-language feeds for every configured hub language."""
    return [spec for lang in dict.fromkeys(primary_language(x) for x in settings.hub.languages)
            for spec in feed_specs(settings, taxonomy, lang)]


def render_site(settings: Settings, store: Store, health: Sequence[SourceHealth],
                plan: RenderPlan, fresh: Memo, out: MutableMapping[str, bytes] | None = None,
                read: Reads | None = None) -> MutableMapping[str, bytes]:
    """The site's pages that ``plan`` touches (publish/site.py), into ``out``; ``read``: the
    entries the feeds already read."""
    out = {} if out is None else out
    build = SiteBuild(settings, store, Taxonomy(settings.categories), health, plan, fresh,
                      out=out, read=read or Reads(store, KEEP_READ if plan.whole else None),
                      drop=out.drop if isinstance(out, Writing) else lambda name: None)
    out = build.build()
    if not plan.quiet:
        out.update({"favicon.svg": FAVICON, "search.js": SEARCH_JS})
        css = theme_css(settings.output.theme) if settings.output.theme else None
        if css is not None:
            out[THEME_CSS] = css
    return out


CATEGORIES = PurePosixPath(".categories")  # the category ids published, one a line


def remove_gone_categories(settings: Settings, sink: Sink) -> list[PurePosixPath]:
    """A category taken out of the config: its feeds (and their archives) and its pages
    leave every tree. The ids published are kept beside the outputs to know which."""
    ids = list(Taxonomy(settings.categories).ids)
    before = (sink.read(CATEGORIES) or b"").decode("utf-8").split()
    gone = [c for c in before if c not in ids]
    prefixes = ["", *(f"{x}/" for x in dict.fromkeys(
        primary_language(lang) for lang in settings.hub.languages))]
    removed = []
    for cid in gone:
        for prefix in prefixes:
            for ext in ("atom", "rss", "json"):
                removed.append(PurePosixPath(f"{prefix}{cid}.{ext}"))
            removed.append(PurePosixPath(f"{prefix}category/{cid}.html"))
            sink.remove_folder(f"archive/{prefix}{cid}")
            sink.remove_folder(f"{prefix}category/{cid}")
    for name in removed:
        sink.remove(name)
    if before != ids:
        sink.write(CATEGORIES, ("\n".join(ids) + "\n").encode("utf-8"))
    return removed


def _same_but_timings(old: bytes | None, new: bytes) -> bool:
    if old is None:
        return False
    try:
        before, after = orjson.loads(old), orjson.loads(new)  # 1 MB at 2,000 sources
    except ValueError:
        return False
    before.pop("timings", None)
    after.pop("timings", None)
    return bool(before == after)


class Writing(MutableMapping[str, bytes]):
    """Outputs handed to the sink as they are rendered, so a big site is never held in
    memory whole (at 75,000 entries its pages weigh more than a gigabyte); what changed is
    kept in ``changed``, in order."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.changed: list[PurePosixPath] = []

    def __setitem__(self, name: str, data: bytes) -> None:
        if name == "status.json" and _same_but_timings(self.sink.read(PurePosixPath(name)),
                                                       data):
            return  # a quiet cycle leaves it (and its ETag) alone: the timings of the
            # last cycle that changed anything stay
        if self.sink.write(PurePosixPath(name), data):
            self.changed.append(PurePosixPath(name))

    def __getitem__(self, name: str) -> bytes:
        raise KeyError(name)  # written, not kept

    def drop(self, name: str) -> None:
        """Remove an output (``folder/``: the folder) that is no longer published."""
        if name.endswith("/"):
            self.sink.remove_folder(name.rstrip("/"))
        elif self.sink.exists(PurePosixPath(name)):
            self.sink.remove(PurePosixPath(name))
            self.changed.append(PurePosixPath(name))

    def __delitem__(self, name: str) -> None:
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def publish_search(settings: Settings, store: Store, sink: Sink, dirty: Dirty | None = None,
                   now: float | None = None, read: Reads | None = None,
                   first: threading.Event | None = None) -> list[PurePosixPath]:
    """Index the stored stories for search (site/search.py); the files written.

    ``first`` (a whole build's, which renders its pages beside): set as soon as the pages
    may go on, which is at once, unless the index was left pending and a few shards
    (FEW_FIRST) are indexed again: those go first, before the pages take the memory and
    the cores (at N=2000: 26.7 s and a 337 MB peak, against 29-30 s and 391 MB beside).
    """
    try:
        return _publish_search(settings, store, sink, dirty, now, read, first)
    finally:
        if first is not None:
            first.set()


def _publish_search(settings: Settings, store: Store, sink: Sink, dirty: Dirty | None,
                    now: float | None, read: Reads | None, first: threading.Event | None
                    ) -> list[PurePosixPath]:
    """publish_search's work (which says what it does).

    The index follows every publish whose entries changed (``dirty``; None: a full build)
    when its stories differ from those it was built from (their digest says so, not the
    bytes: Pagefind's output differs between runs on the same records). The index is in
    shards (search.shard_of: by month, at most SHARD_SIZE stories each), and only the
    shards whose stories changed are indexed again. Past SEARCH_SMALL stories an index
    younger than SEARCH_EVERY is kept, marked pending; a later publish, even a quiet
    one, catches up once it is old enough. A quiet publish with nothing pending reads
    nothing. Records are placed from the stories' rows; only the stories of shards to index
    again are read (``read``: shared with the pages being rendered)."""
    marker = PurePosixPath(f"{BUNDLE}/{MARKER}")
    now = time.time() if now is None else now
    kept = (sink.read(marker) or b"").decode("ascii", "replace").split()
    built, at, size, pending = (*kept, "", "0", "0", "")[:4] if kept else ("", "0", "0", "")
    there = sink.exists(PurePosixPath(f"{BUNDLE}/{SHARDS}"))
    young = now - float(at or 0) < SEARCH_EVERY
    if first is not None and not pending:
        first.set()  # nothing known to be behind: the pages go on beside
    if there and dirty is not None:
        if not dirty and not (pending and not young):
            return []  # a quiet cycle: nothing new to index
        if dirty and int(size or 0) >= SEARCH_SMALL and young:
            sink.write(marker, f"{built} {at} {size} pending".encode("ascii"))
            return []
    language = primary_language(settings.hub.language)
    read = read or Reads(store)
    rows = read.shown()
    before = _shards_before(sink)
    digests: dict[str, str] = {}
    again: dict[str, list[Record]] = {}  # the shards indexed again: their records
    for shard in placed_shards(rows, Taxonomy(settings.categories),
                               {s.id: s.name for s in settings.sources}, language,
                               [primary_language(x) for x in settings.hub.languages]):
        sid = shard.name
        digests[sid] = shard.digest(language)
        if before.get(sid) != digests[sid] or not sink.exists(
                PurePosixPath(f"{BUNDLE}/{sid}/pagefind.js")):
            again[sid] = shard.records()
    if first is not None and len(again) > FEW_FIRST:
        first.set()  # a first index, or most of one: beside the pages, as usual
    if not digests:  # nothing stored yet (a first start): Pagefind refuses an empty index
        return []
    # the whole index's digest: one of the shards'
    digest = hashlib.sha256(json.dumps(digests, sort_keys=True).encode("ascii")).hexdigest()
    stamp = f"{digest} {now:.0f} {len(rows)}".encode("ascii")
    if there and built == digest:
        sink.write(marker, stamp)  # checked: the same stories
        return []
    by_key = {r.key: r for r in rows}

    def texts(found: list[Record]) -> list[Record]:
        return with_text(found, {e.key: e for e in read([by_key[r.key] for r in found])})

    written = _index_shards(list(digests), digests, again, language, sink, texts)
    if written is None:
        return []
    sink.settle()
    sink.write(marker, stamp)  # last, once the index is durable: a crash before it means
    # "build again"
    return written


def _shards_before(sink: Sink) -> dict[str, str]:
    """The digest of each shard the index on disk was built from (pagefind/shards.json)."""
    try:
        found = json.loads(sink.read(PurePosixPath(f"{BUNDLE}/{SHARDS}")) or b"{}")
        digests = found.get("digests", {})
    except (ValueError, AttributeError):
        return {}
    return digests if isinstance(digests, dict) else {}


def _index_shards(shards: list[str], digests: dict[str, str], again: dict[str, list[Record]],
                  language: str, sink: Sink, texts: Callable[[list[Record]], list[Record]]
                  ) -> list[PurePosixPath] | None:
    """Index the shards ``again`` (their records: the ones whose stories changed), drop the
    ones gone, and list them all (``shards``, newest first) in pagefind/shards.json for the
    search page; the files written, or None when Pagefind could not run (logged; the index
    on disk stays as it was)."""
    listing = PurePosixPath(f"{BUNDLE}/{SHARDS}")
    written: list[PurePosixPath] = []
    whole = texts([r for group in again.values() for r in group])  # their stories, in one read
    done = 0
    for sid, group in again.items():
        mine, done = whole[done:done + len(group)], done + len(group)
        folder = f"{BUNDLE}/{sid}"
        if not sink.replace_folder(folder, partial(build_index, mine, language)):
            return None
        written += sink.names(folder)
    newest = shards[0]
    for asset in UI_ASSETS:  # the same in every bundle: served once, from pagefind/
        data = sink.read(PurePosixPath(f"{BUNDLE}/{newest}/{asset}"))
        if data is not None and sink.write(PurePosixPath(f"{BUNDLE}/{asset}"), data):
            written.append(PurePosixPath(f"{BUNDLE}/{asset}"))
    keep = {*shards, *UI_ASSETS, SHARDS, MARKER}
    gone: dict[str, bool] = {}  # shards gone, and the one bundle of earlier versions
    for name in sink.names(BUNDLE):
        top, *below = name.relative_to(BUNDLE).parts
        if top not in keep:
            gone[top] = bool(below)
    for top, has_files_below in gone.items():
        if has_files_below:
            sink.remove_folder(f"{BUNDLE}/{top}")
        else:
            sink.remove(PurePosixPath(f"{BUNDLE}/{top}"))
    sink.settle()  # the listing names shards: they must be there first
    sink.write(listing, json.dumps({"shards": shards, "digests": digests},
                                   indent=0).encode("utf-8"))
    return [*written, listing]


def feed_urls(settings: Settings, paths: Sequence[PurePosixPath]) -> list[str]:
    """The public URLs of the feeds among ``paths`` (the operator feed and status excluded)."""
    names = [str(p) for p in paths]
    return [settings.hub.base_url + n for n in names
            if n.endswith((".atom", ".rss", ".json"))
            and not n.startswith(("archive/", f"{BUNDLE}/"))
            and n not in ("status.json", "status.atom")]


def _subscribable(settings: Settings, store: Store) -> dict[str, str]:
    """Each source's feed URL: the configured (or adopted) one, else the feed's own self
    link (a bundled local copy of a real feed)."""
    states = store.source_states()
    out = {}
    for source in settings.sources:
        state = states.get(source.id)
        url = source.url or (state.feed.self_link if state and state.feed else None)
        if url:
            out[source.id] = url
    return out


def _kept(fresh: Memo, names: list[str], page: Page[Row],
          plan: RenderPlan) -> bool:
    """Whether a feed document's files are as they were (never in a whole build): its
    links and its entries as they show (the memo keeps the digest of each file)."""
    shown = (page.spec.history, tuple((r.key, r.content_hash, r.updated, r.via, r.copied_by)
                                      for r in page.arrived))
    kept = [fresh(name, shown) for name in names]  # each name remembers it
    return all(kept) and not plan.whole


def render_outputs(settings: Settings, store: Store, health: Sequence[SourceHealth],
                   websub: dict[str, Any] | None = None, plan: RenderPlan | None = None,
                   fresh: Memo | None = None,
                   out: MutableMapping[str, bytes] | None = None,
                   timings: Mapping[str, float] | None = None, read: Reads | None = None,
                   ready: threading.Event | None = None) -> MutableMapping[str, bytes]:
    """Output file name -> bytes, for the outputs ``plan`` touches (None: every one);
    deterministic for a given store. Sealed archive pages are left out (plan.py). The site's
    pages wait for ``ready`` (publish_search's ``first``)."""
    plan = plan or RenderPlan(None, settings.hub.language)
    fresh = fresh or Memo()
    taxonomy = Taxonomy(settings.categories)
    names = {s.id: s.name for s in settings.sources}
    limit = settings.output.entries_per_feed
    specs = feed_specs(settings, taxonomy)
    by_language = language_specs(settings, taxonomy)
    out = {} if out is None else out
    read = read or Reads(store, KEEP_READ if plan.whole else None)
    if plan.whole:
        read.everything()  # when it fits in what a whole build keeps
    for spec in specs + by_language:
        if not plan.touches(spec.only_language, spec.category):
            continue
        # laid out from rows, in arrival order; read what is rendered
        rows = read.listed(spec.category, spec.only_language, settings.hub.language)
        current, archives = paginate(spec, rows, limit, settings.hub.base_url,
                                     lambda page, successor: plan.sealed(
                                         page, successor, also_when_whole=True))
        head = current.spec
        if not _kept(fresh, [f"{spec.name}.{x}" for x in ("atom", "rss", "json")], current,
                     plan):  # a listing the plan touches may not have changed
            shown = read(current.entries)
            out[f"{spec.name}.atom"] = render_atom(head, shown, settings, taxonomy, names)
            out[f"{spec.name}.rss"] = render_rss(spec, shown, settings, taxonomy, names)
            out[f"{spec.name}.json"] = render_json_feed(spec, shown, settings, taxonomy,
                                                        names)
        for page in archives:  # the sealed ones left out: never rendered or written again
            if _kept(fresh, [f"{page.spec.name}.atom"], page, plan):
                continue  # the newest archive page, as it was
            out[f"{page.spec.name}.atom"] = render_atom(page.spec, read(page.entries),
                                                        settings, taxonomy, names)
    if ready is not None:
        ready.wait()
    render_site(settings, store, health, plan, fresh, out, read)
    if plan.whole:
        out["feeds.opml"] = render_feeds_opml(settings, specs, by_language)
    out.update(render_status_outputs(settings, store, health, websub, timings, fresh))
    return out


def render_status_outputs(settings: Settings, store: Store, health: Sequence[SourceHealth],
                          websub: dict[str, Any] | None = None,
                          timings: Mapping[str, float] | None = None,
                          fresh: Memo | None = None) -> dict[str, bytes]:
    """The machine-readable outputs that follow the sources' health rather than the
    entries: they change every cycle (the site's health pages are in render_site), but
    sources.opml, which follows the config and the feeds' addresses: rendered again
    when those moved (``fresh``)."""
    names = {s.id: s.name for s in settings.sources}
    out = {}
    urls = _subscribable(settings, store)
    listed = (settings.hub.title, tuple(urls.items()), tuple(  # what render_sources_opml
        (s.id, s.kind, s.name, bool(s.scrape), s.language) for s in settings.sources))  # reads
    if fresh is None or not fresh("sources.opml", listed):
        out["sources.opml"] = render_sources_opml(settings, urls)  # 2,000 sources: 40 ms
    out["status.json"] = render_status(health, websub, store.events(STATUS_EVENTS), timings)
    out["status.atom"] = render_status_atom(store.events(STATUS_EVENTS), settings, names)
    return out


def _load_memo(sink: Sink) -> dict[str, object]:
    try:
        found = orjson.loads(sink.read(MEMO) or b"{}")
    except ValueError:  # damaged: everything is rendered once more
        return {}
    return {str(k): v for k, v in found.items()} if isinstance(found, dict) else {}


def publish(settings: Settings, store: Store, health: Sequence[SourceHealth], sink: Sink,
            websub: dict[str, Any] | None = None, plan: RenderPlan | None = None,
            rendered: dict[str, object] | None = None,
            timings: Mapping[str, float] | None = None) -> list[PurePosixPath]:
    """Write the outputs ``plan`` touches (None: all, plan.py) whose bytes changed; their
    names. ``rendered`` (kept by the caller between publishes, and in the output dir between
    processes) remembers what each health page was rendered from, so an unchanged one is
    not rendered again."""
    plan = plan or RenderPlan(None, settings.hub.language)
    memo = rendered if rendered is not None else {}
    if plan.whole:
        memo.clear()  # settings, version or theme changed: every page rendered again
    elif not memo:
        memo.update(_load_memo(sink))
    before = dict(memo)

    fresh = Memo(sink, memo)

    changed = []
    if plan.whole:  # the settings may have changed: a category taken out goes offline
        changed += remove_gone_categories(settings, sink)
    # The search index is built beside the pages: Pagefind runs as its own process, so on
    # a machine with two cores it indexes while this one renders.
    with sink.batch(), ThreadPoolExecutor(1, thread_name_prefix="search") as beside:
        read = Reads(store, KEEP_READ if plan.whole else None)  # shared: each read once
        if plan.whole:
            read.everything()  # when it fits in what a whole build keeps
        first = threading.Event() if plan.whole else None
        search = beside.submit(publish_search, settings, store, sink, plan.dirty, read=read,
                               first=first)
        writing = Writing(sink)  # in order: an archive page before its successor
        render_outputs(settings, store, health, websub, plan, fresh, writing, timings, read,
                       ready=first)
        changed += writing.changed
        changed += search.result()
        if memo != before:
            sink.settle()  # the memo says pages are there: they must be, first
            sink.write(MEMO, orjson.dumps(memo, option=orjson.OPT_SORT_KEYS))  # 30,000 names
    log.info("published %d changed file(s) in %s", len(changed), sink.describe())
    return changed
