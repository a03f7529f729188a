"""Render the outputs that changed entries touch; write only files whose bytes changed.

The store's dirty markers (models.Dirty) say which categories, languages and sources the
entries written since the last publish belong to (before and after a change). A feed is
rendered when its category (any, for the combined feeds) and its language are touched; the
site's pages when anything is (each shows every category's count); the status outputs
always. ``dirty=None`` renders everything (a first build, a changed config).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import PurePosixPath
from typing import Any

from .config import Settings
from .dates import iso
from .history import paginate
from .models import Dirty, SourceHealth, StoredEntry
from .render import FeedSpec
from .render.atom import render_atom, render_rss, render_status_atom
from .render.html import PageEntry, Site, render_member, render_river, render_sources, strings
from .render.jsonfeed import render_json_feed
from .render.opml import render_feeds_opml, render_sources_opml
from .render.status import render_status
from .sink import Sink
from .store import Store
from .taxonomy import Taxonomy, primary_language

log = logging.getLogger("aggregator.publish")

STATUS_EVENTS = 100  # entries in status.atom
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
    specs = [FeedSpec(f"{prefix}all", hub.title + suffix, f"{hub.id}feeds/{prefix}all",
                      f"{hub.base_url}{prefix}all.atom", hub.base_url, lang,
                      only_language=language)]
    for cid in taxonomy.ids:
        specs.append(FeedSpec(f"{prefix}{cid}", f"{hub.title}: {taxonomy.label(cid, lang)}"
                              + suffix, f"{hub.id}feeds/{prefix}{cid}",
                              f"{hub.base_url}{prefix}{cid}.atom", hub.base_url, lang,
                              category=cid, only_language=language))
    return specs


def language_specs(settings: Settings, taxonomy: Taxonomy) -> list[FeedSpec]:
    """Per-language feeds for every configured hub language."""
    return [spec for lang in dict.fromkeys(primary_language(x) for x in settings.hub.languages)
            for spec in feed_specs(settings, taxonomy, lang)]


def render_site(settings: Settings, store: Store, taxonomy: Taxonomy, names: dict[str, str],
                counts: dict[str, int]) -> dict[str, bytes]:
    """index.html, category/<id>.html and <lang>/index.html."""
    hub, limit = settings.hub, settings.output.entries_per_feed
    languages = tuple(dict.fromkeys(primary_language(x) for x in hub.languages))

    def site(lang: str) -> Site:
        labels = tuple((c, taxonomy.label(c, lang)) for c in taxonomy.ids)
        return Site(hub.title, labels, languages, counts)

    def page(entries: list[StoredEntry], lang: str) -> list[PageEntry]:
        return [PageEntry(e, names.get(e.source_id, e.source_id),
                          tuple((c, taxonomy.label(c, lang)) for c in e.categories))
                for e in entries[:limit]]

    home = hub.language
    everything = store.entries()  # newest first; every river below is a slice of it
    out = {"favicon.svg": FAVICON,
           "index.html": render_river(site(home), hub.title, home, "all", "",
                                      page(everything, home))}
    for cid in taxonomy.ids:
        label = taxonomy.label(cid, home)
        out[f"category/{cid}.html"] = render_river(site(home), label, home, cid, "../", page(
            store.entries(category=cid, limit=limit), home))
    for lang in languages:
        entries = [e for e in everything if primary_language(e.language or home) == lang]
        out[f"{lang}/index.html"] = render_river(site(lang), f"{hub.title} ({lang})", lang,
                                                 f"{lang}/all", "../", page(entries, lang))
    return out


def feed_urls(settings: Settings, paths: Sequence[PurePosixPath]) -> list[str]:
    """The public URLs of the feeds among ``paths`` (the operator feed and status excluded)."""
    names = [str(p) for p in paths]
    return [settings.hub.base_url + n for n in names
            if n.endswith((".atom", ".rss", ".json")) and not n.startswith("archive/")
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


def _category_counts(store: Store, taxonomy: Taxonomy) -> dict[str, int]:
    """Entries per category as the category feeds show them (kept by the store)."""
    stored = store.count_by_category()
    return {cid: stored.get(cid, 0) for cid in taxonomy.ids}


def _select(entries: list[StoredEntry], spec: FeedSpec, default: str) -> list[StoredEntry]:
    if spec.only_language is None:
        return entries
    return [e for e in entries if primary_language(e.language or default) == spec.only_language]


def touches(spec: FeedSpec, dirty: Dirty | None, home: str) -> bool:
    """Whether entries changed under ``dirty`` can show in the feed ``spec``."""
    if dirty is None:
        return True
    if spec.category is not None and spec.category not in dirty.categories:
        return False
    return bool(dirty) and (spec.only_language is None or any(
        primary_language(tag or home) == spec.only_language for tag in dirty.languages))


def render_outputs(settings: Settings, store: Store, health: Sequence[SourceHealth],
                   websub: dict[str, Any] | None = None,
                   on_disk: Callable[[str], bool] = lambda name: False,
                   dirty: Dirty | None = None,
                   fresh: Callable[[str, object], bool] = lambda name, key: False
                   ) -> dict[str, bytes]:
    """Output file name -> bytes, for the outputs ``dirty`` touches (None: every one);
    deterministic for a given store.

    Sealed archive pages (their successor is ``on_disk``) are left out: they never change,
    so rendering them again on every build would be wasted work."""
    taxonomy = Taxonomy(settings.categories)
    names = {s.id: s.name for s in settings.sources}
    limit = settings.output.entries_per_feed
    specs = feed_specs(settings, taxonomy)
    by_language = language_specs(settings, taxonomy)
    out: dict[str, bytes] = {}
    counts = _category_counts(store, taxonomy)
    by_category: dict[str | None, list[StoredEntry]] = {}  # shared by the language feeds
    for spec in specs + by_language:
        if not touches(spec, dirty, settings.hub.language):
            continue
        if spec.category not in by_category:
            by_category[spec.category] = store.entries(category=spec.category)
        entries = _select(by_category[spec.category], spec, settings.hub.language)
        current, archives = paginate(spec, entries, limit, settings.hub.base_url)
        shown = list(current.entries)
        head = current.spec
        out[f"{spec.name}.atom"] = render_atom(head, shown, settings, taxonomy, names)
        out[f"{spec.name}.rss"] = render_rss(spec, shown, settings, taxonomy, names)
        out[f"{spec.name}.json"] = render_json_feed(spec, shown, settings, taxonomy, names)
        for page in archives:
            if page.frozen and page.successor and on_disk(page.successor):
                continue  # sealed in an earlier build: never rendered or written again
            out[f"{page.spec.name}.atom"] = render_atom(page.spec, list(page.entries),
                                                        settings, taxonomy, names)
    if dirty is None or dirty:
        out.update(render_site(settings, store, taxonomy, names, counts))
    if dirty is None:
        out["feeds.opml"] = render_feeds_opml(settings, specs, by_language)
    out.update(render_status_outputs(settings, store, health, websub, fresh))
    return out


def render_status_outputs(settings: Settings, store: Store, health: Sequence[SourceHealth],
                          websub: dict[str, Any] | None = None,
                          fresh: Callable[[str, object], bool] = lambda name, key: False
                          ) -> dict[str, bytes]:
    """The outputs that follow the sources' health rather than the entries: they change
    every cycle, the rest only when entries do. A member page whose inputs are ``fresh``
    (rendered from the same ones before, and still there) is left as it is."""
    taxonomy = Taxonomy(settings.categories)
    names = {s.id: s.name for s in settings.sources}
    hub, home = settings.hub, settings.hub.language
    counts = _category_counts(store, taxonomy)
    languages = tuple(dict.fromkeys(primary_language(x) for x in hub.languages))
    site = Site(hub.title, tuple((c, taxonomy.label(c, home)) for c in taxonomy.ids),
                languages, counts)
    states = store.source_states()
    members = {}
    for h in health:
        state = states.get(h.id)
        report, read_at = (state.report, iso(state.report_at)) if state else ((), None)
        name = f"members/{h.id}.html"
        if not fresh(name, (h.url, h.kind, h.state, report, read_at, tuple(counts.items()))):
            members[name] = render_member(site, home, h, report, read_at)
    return members | {
            "sources.html": render_sources(site, strings(home)["sources"], home, health),
            "sources.opml": render_sources_opml(settings, _subscribable(settings, store)),
            "status.json": render_status(health, websub, store.events(STATUS_EVENTS)),
            "status.atom": render_status_atom(store.events(STATUS_EVENTS), settings, names)}


def publish(settings: Settings, store: Store, health: Sequence[SourceHealth], sink: Sink,
            websub: dict[str, Any] | None = None, dirty: Dirty | None = None,
            rendered: dict[str, object] | None = None) -> list[PurePosixPath]:
    """Write the outputs ``dirty`` touches (None: all) whose bytes changed; their names.
    An output missing from the sink is rendered again whatever ``dirty`` says.
    ``rendered`` (kept by the caller between publishes) remembers what each member page
    was rendered from, so an unchanged one is not rendered again."""
    memo = rendered if rendered is not None else {}

    def fresh(name: str, key: object) -> bool:
        if memo.get(name) == key and sink.exists(PurePosixPath(name)):
            return True
        memo[name] = key
        return False

    if dirty is not None and not sink.exists(PurePosixPath("index.html")):
        dirty = None  # an output dir emptied under us: build it whole again
    outputs = render_outputs(settings, store, health, websub,
                             lambda name: sink.exists(PurePosixPath(name)), dirty, fresh)
    changed = []
    for name, data in outputs.items():  # in order: an archive page before its successor
        if sink.write(PurePosixPath(name), data):
            changed.append(PurePosixPath(name))
    log.info("published %d changed file(s) in %s", len(changed), sink.describe())
    return changed
