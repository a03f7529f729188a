"""The half of the facade that needs no store: config checks and edits, serving a
directory, checking a member's feed, and handing requests to a running service.

Like core.py, it imports what a command needs inside that command (start-up stays fast).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aggregator.config import Settings, SourceSettings, load_settings
from aggregator.config.taxonomy import Taxonomy
from aggregator.dates import utcnow
from aggregator.errors import ConfigError
from aggregator.ingest.language import LanguageChooser

if TYPE_CHECKING:
    from aggregator.config.opml import ImportReport
    from aggregator.ingest.discover import Discovery
    from aggregator.ingest.report import Finding, Report

log = logging.getLogger("aggregator")


def ask_running_service(config: Path, kind: str, timeout: float = 300.0,
                        settings: Settings | None = None, **args: Any) -> list[str] | None:
    """When `run` holds the store, hand it this request (run/control.py) and wait for its
    answer lines; None when no service runs (the caller then does the work itself).
    ``settings``: the config already read (else it is read here)."""
    from aggregator.run import control

    store_path = (settings or load_settings(config)).store.path
    if store_path is None or not control.service_running(store_path):
        return None
    request_id = control.submit(store_path, kind, **args)
    answer = control.wait(store_path, request_id, timeout)
    if answer is None:
        return [f"queued for the running service (no answer within {timeout:.0f} s: it "
                "carries it out when its current cycle ends)"]
    lines = [str(x) for x in answer.get("lines") or []]
    if not answer.get("ok"):
        raise ConfigError("the running service refused: " + "; ".join(lines))
    return lines


def settings_diff(old: Settings, new: Settings) -> list[str]:
    """What changed between two configs, for the log of a reload."""
    lines = []
    before, after = {s.id: s for s in old.sources}, {s.id: s for s in new.sources}
    lines += [f"source added: {sid}" for sid in after if sid not in before]
    lines += [f"source removed: {sid}" for sid in before if sid not in after]
    lines += [f"source changed: {sid}" for sid in after
              if sid in before and after[sid] != before[sid]]
    cats_before = {c.id: c for c in old.categories}
    cats_after = {c.id: c for c in new.categories}
    lines += [f"category added: {cid}" for cid in cats_after if cid not in cats_before]
    lines += [f"category removed: {cid}" for cid in cats_before if cid not in cats_after]
    lines += [f"category changed: {cid}" for cid in cats_after
              if cid in cats_before and cats_after[cid] != cats_before[cid]]
    for section in ("hub", "output", "poll", "serve", "ingest", "retention"):
        if getattr(old, section) != getattr(new, section):
            lines.append(f"{section}: changed")
    return lines


def check_config(path: Path) -> tuple[Settings, list[str]]:
    """Validate a config file (ConfigError names every bad key); warnings besides."""
    from aggregator.ingest.netguard import NetworkPolicy
    from aggregator.render.site.pages import theme_problems
    settings = load_settings(path)
    if settings.output.theme is not None:
        problems = theme_problems(settings.output.theme)
        if problems:
            raise ConfigError([f"{path}: output.theme: {p}" for p in problems])
    policy = NetworkPolicy.from_settings(settings.poll.allow_private_networks,
                                         settings.poll.allow_hosts)
    warnings = []
    for source in settings.sources:
        reason = policy.refuses(source.url) if source.url else None
        if reason:
            warnings.append(f"source {source.id}: {reason}: every fetch will be refused "
                            "(allow it with poll.allow_hosts)")
    return settings, warnings


def import_sources(config: Path, opml: bytes, kind: str | None) -> ImportReport:
    """Add an OPML list's feeds to a valid config file, keeping its comments and order."""
    from aggregator.config.opml import import_opml

    return import_opml(config, opml, kind)


def serve(config: Path, stop: threading.Event) -> None:
    """Serve the output directory until ``stop`` is set (no polling)."""
    from aggregator.server import serve_in_background
    settings = load_settings(config)
    settings.output.dir.mkdir(parents=True, exist_ok=True)
    server = serve_in_background(settings.output.dir, settings.serve.host, settings.serve.port)
    log.info("serving %s at http://%s:%d/", settings.output.dir, *server.server_address[:2])
    stop.wait()
    server.shutdown()
    server.server_close()


def explanation_text(info: dict[str, Any]) -> str:
    """``Aggregator.explain``'s answer, for a terminal."""
    from aggregator.explain import as_text

    return as_text(info)


def add_source(config: Path, url: str, source_id: str | None = None, kind: str = "member",
               category: str | None = None) -> tuple[Discovery, str | None]:
    """Find the feeds of ``url`` (the hub's own fetcher) and add the first to the config;
    the discovery, and the id it was added under (None: no feed found, nothing added)."""
    from aggregator.config.edit import edit_config
    from aggregator.config.opml import slug, unique
    from aggregator.ingest.discover import discover
    from aggregator.ingest.fetch import Fetcher

    settings = load_settings(config)
    _may_add(settings, source_id, category)  # before any fetch
    fetcher = Fetcher.create(settings, None, utcnow)
    try:
        found = discover(url, fetcher)
    finally:
        fetcher.close()
    if not found.feeds:
        return found, None
    feed = found.feeds[0]
    if feed.url in {s.url for s in settings.sources}:
        raise ConfigError(f"{feed.url} is already configured")
    new_id = source_id or unique(slug(feed.title or feed.url), {s.id for s in settings.sources})
    entry: dict[str, Any] = {"id": new_id, "name": feed.title or new_id, "url": feed.url,
                             "kind": kind}
    if category:
        entry["categories"] = [category]
    with edit_config(config) as doc:
        doc["sources"].append(entry)
    return found, new_id


def _may_add(settings: Settings, source_id: str | None, category: str | None) -> None:
    """Refuse a new source's id or category before anything is fetched."""
    import re

    from aggregator.config.model import did_you_mean
    ids = [s.id for s in settings.sources]
    if source_id is not None and not re.fullmatch(r"[a-z0-9-]+", source_id):
        raise ConfigError(f"--id {source_id!r}: must match [a-z0-9-]+")
    if source_id in ids:
        raise ConfigError(f"--id {source_id!r}: a source with that id is already configured "
                          "(sources list shows them); choose another")
    known = Taxonomy(settings.categories).ids
    if category is not None and category not in known:
        raise ConfigError(f"--category {category!r}: no such category"
                          f"{did_you_mean(category, known)}; the "
                          f"categories: {', '.join(known)}")


def remove_source(config: Path, source_id: str) -> None:
    """Take a source out of the config (its stored entries age out with retention)."""
    from aggregator.config.edit import edit_config, source_at

    with edit_config(config) as doc:
        del doc["sources"][source_at(doc, source_id)]


def set_source_enabled(config: Path, source_id: str, enabled: bool) -> bool:
    """Set ``enabled:`` of a source in the config; whether it changed."""
    from aggregator.config.edit import Unchanged, edit_config, source_at

    with edit_config(config) as doc:
        source = doc["sources"][source_at(doc, source_id)]
        if bool(source.get("enabled", True)) == enabled:
            raise Unchanged
        if enabled:
            del source["enabled"]  # the default
        else:
            source["enabled"] = False
        return True
    return False


def check_url(config: Path, url: str) -> Report:
    """Read ``url`` as the hub would (same guard, limits and parser), twice, storing
    nothing: what a member sees of its own feed (ingest/report.py)."""
    from aggregator.errors import FetchError, ParseError
    from aggregator.ingest.fetch import Fetcher
    from aggregator.ingest.parse.pool import ParsePool
    from aggregator.ingest.report import Reader, Report, failed, findings

    settings = load_settings(config)
    if not _is_http(url):
        return Report(url, None, 0, (failed("not-a-url", f"{url} is not a web address: give "
                                            "the feed's full address, like "
                                            "https://example.org/feed.xml"),))
    source = next((s for s in settings.sources if s.url == url), None) or SourceSettings(
        id="check", name=url, kind="member", url=url)
    fetcher = Fetcher.create(settings, None, utcnow)
    pool = ParsePool.from_settings(settings, 1)
    reader = Reader(settings, Taxonomy(settings.categories),
                    LanguageChooser(settings.hub.languages, settings.hub.language))
    binary: list[str] = []  # the Content-Type of a body that is no text
    try:
        first = _read_once(source, fetcher, pool, settings, binary)
        second = _read_once(source, fetcher, pool, settings, binary)
    except FetchError as e:
        return Report(url, None, 0, (failed("fetch-failed", f"{e}"),))
    except ParseError as e:
        return Report(url, None, 0, (_not_a_feed(url, e, fetcher, binary),))
    finally:
        pool.close()
        fetcher.close()
    (fetched, parsed), (_, again) = first, second
    earlier = {e.link: e.guid for e in again.entries if e.link and e.guid}
    return Report(fetched.url, parsed.format, len(parsed.entries),
                  tuple(findings(fetched, parsed, source, reader, utcnow(), earlier)))


def _is_http(url: str) -> bool:
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _read_once(source: SourceSettings, fetcher: Any, pool: Any, settings: Settings,
               binary: list[str]) -> tuple[Any, Any]:
    from aggregator.errors import FetchError
    from aggregator.ingest.parse.scrape import scrape_page
    from aggregator.models import Fetched

    fetched = fetcher.fetch(source, None)
    if not isinstance(fetched, Fetched):
        raise FetchError(f"{source.url}: answered 304 to a request without validators")
    if b"\x00" in fetched.body[:4096] and not fetched.body.startswith((b"\xff\xfe", b"\xfe\xff")):
        binary.append(fetched.content_type or "no Content-Type")  # not UTF-16: binary
    parsed = scrape_page(fetched.body, fetched.url, source.scrape, fetched.content_type) \
        if source.scrape else pool.parse(fetched.body, fetched.url, fetched.content_type)
    return fetched, parsed


def _not_a_feed(url: str, error: Exception, fetcher: Any, binary: list[str]) -> Finding:
    """A page, not a feed: name the feeds it announces, else suggest selectors."""
    from aggregator.ingest.discover import discover
    from aggregator.ingest.report import failed

    if binary:
        return failed("not-a-feed", f"Not a feed: the address sends binary data "
                      f"({binary[0]}: a picture, an archive or a program?), not a feed.")
    try:
        feeds = discover(url, fetcher).feeds
    except Exception:
        feeds = ()
    if feeds:
        return failed("page-not-feed", f"This is a page, not a feed; it announces "
                      f"{', '.join(f.url for f in feeds)}: give the hub that address.")
    return failed("not-a-feed", f"Not a feed the hub can read ({error}); a page without a "
                  "feed can be read with scrape: selectors (aggregator sources add tells how).")
