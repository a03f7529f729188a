"""Everything that happens to ONE source, top to bottom, as one function.

    ingest(source, state, tools, now, stored_links) -> SourceOutcome

fetch -> parse (the injected parser) -> cap -> drop what retention would drop -> date the
undated (first poll) -> decide the identity rule -> classify (categories, language) ->
candidates. It reads no store and no other source, and keeps nothing between calls: the
single-node cycle runs it in its host-fair thread pool, a task queue can run the same
function on another machine. Every failure comes back as a typed error in the outcome.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from aggregator import logs
from aggregator.config import Settings, SourceSettings
from aggregator.config.rules import rules_for
from aggregator.config.taxonomy import Taxonomy
from aggregator.errors import FetchError, ParseError
from aggregator.ingest.fetch import Fetcher
from aggregator.ingest.language import LanguageChooser
from aggregator.ingest.limits import cap_feed
from aggregator.ingest.parse.pool import ParsePool
from aggregator.ingest.parse.scrape import scrape_page
from aggregator.ingest.report import Reader, findings, refused_text
from aggregator.ingest.undated import place_undated
from aggregator.models import EntryData, FeedMeta, Fetched, NotModified, ParsedFeed, SourceState
from aggregator.outcome import ErrorKind, SourceError, SourceOutcome
from aggregator.sanitize import safe_url
from aggregator.schedule import poll_url
from aggregator.stories import identity, retention
from aggregator.stories import plan as stories

log = logging.getLogger("aggregator.ingest")

MAX_UNMAPPED = 200  # unmapped category words remembered per source
MAX_BLOCKED = 50  # entries left out by rules remembered per source (explain names them)

Parser = Callable[[bytes, str, str | None], ParsedFeed]
StoredLinks = Callable[[], Mapping[str, str]]  # this source's stored canonical link -> guid


@dataclass(frozen=True)
class Tools:
    """What ingesting needs besides the source: built once, shared by every call."""

    settings: Settings
    fetcher: Fetcher
    parser: Parser
    taxonomy: Taxonomy
    languages: LanguageChooser

    @classmethod
    def from_settings(cls, settings: Settings, fetcher: Fetcher, parsers: ParsePool,
                      languages: LanguageChooser | None = None) -> Tools:
        """The one way every driver (the service, `poll`, a push, a Celery worker) builds
        its tools: every document is parsed by ``parsers``, under its memory and time bound
        from ``ingest.parse_memory`` and ``ingest.parse_timeout`` (parse/pool.py)."""
        return cls(settings, fetcher, parsers.parse, Taxonomy(settings.categories),
                   languages or LanguageChooser(settings.hub.languages, settings.hub.language))


def ingest(source: SourceSettings, state: SourceState | None, tools: Tools, now: datetime,
           stored_links: StoredLinks) -> SourceOutcome:
    url = poll_url(source, state)
    started = time.monotonic()
    fetched_at = None
    try:
        result = tools.fetcher.fetch(source, state)
        fetched_at = time.monotonic()
        _log_request(source, state, url, result, fetched_at - started)
    except FetchError as e:
        log.warning("source %s: fetch failed: %s", source.id, e,
                    extra=logs.source(source.id, status=e.status))
        return SourceOutcome(source.id, error=SourceError(ErrorKind.FETCH, str(e)),
                             status=e.status, retry_after=e.retry_after, polled_url=url,
                             fetch_seconds=time.monotonic() - started)
    except Exception as e:  # a bug must not stop the other sources
        return _internal(source, url, e)
    if isinstance(result, NotModified):
        log.info("source %s: not modified", source.id, extra=logs.source(source.id))
        return SourceOutcome(source.id, result, status=result.status, polled_url=url,
                             fetch_seconds=fetched_at - started)
    return replace(read_document(source, state, tools, now, stored_links, result, url),
                   fetch_seconds=fetched_at - started)


def read_document(source: SourceSettings, state: SourceState | None, tools: Tools,
                  now: datetime, stored_links: StoredLinks, result: Fetched,
                  url: str | None = None) -> SourceOutcome:
    """The second half of ``ingest``: a document already in hand (fetched, or pushed by a
    WebSub hub) -> its outcome."""
    started = time.monotonic()
    try:
        parsed = cap_feed(_parse(source, result, tools), tools.settings.ingest)
    except ParseError as e:
        log.warning("source %s: parse failed: %s", source.id, e, extra=logs.source(source.id))
        return SourceOutcome(source.id, error=SourceError(ErrorKind.PARSE, str(e)),
                             status=200, polled_url=url)
    except Exception as e:  # a bug must not stop the other sources
        return _internal(source, url, e)
    log.info("source %s: %d entries (%s)", source.id, len(parsed.entries), parsed.format,
             extra=logs.source(source.id, entries=len(parsed.entries), format=parsed.format,
                               parser=parsed.parser))
    if parsed.notes.refused:  # status shows it beside the source until a poll reads it all
        refused = refused_text(parsed.notes.refused, parsed.notes.refused_why)
        log.warning("source %s: %s", source.id, refused, extra=logs.source(source.id))
        result = replace(result, warning="; ".join(filter(None, (result.warning, refused))))
    return replace(_read(source, state, tools, now, stored_links, result, parsed, url),
                   parse_seconds=time.monotonic() - started)


def _internal(source: SourceSettings, url: str | None, e: Exception) -> SourceOutcome:
    log.exception("source %s: unexpected error", source.id, extra=logs.source(source.id))
    return SourceOutcome(source.id, polled_url=url, error=SourceError(
        ErrorKind.INTERNAL, f"{type(e).__name__}: {e}"))


def _log_request(source: SourceSettings, state: SourceState | None, url: str | None,
                 result: Fetched | NotModified, seconds: float) -> None:
    """-v: each request as it went (what we sent, what came back)."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    sent = {"If-None-Match": state.etag if state else None,
            "If-Modified-Since": state.last_modified if state else None}
    got = {"ETag": result.etag, "Last-Modified": result.last_modified}
    size = len(result.body) if isinstance(result, Fetched) else 0
    shown = ", ".join(f"{k}={v}" for k, v in sent.items() if v) or "no validators"
    back = ", ".join(f"{k}={v}" for k, v in got.items() if v) or "none"
    log.debug("source %s: GET %s -> %s in %.2f s, %d bytes; sent %s; got %s", source.id, url,
              result.status or "file", seconds, size, shown, back, extra=logs.source(
                  source.id, url=url, status=result.status, seconds=round(seconds, 3),
                  bytes=size, sent=sent, received=got))


def _parse(source: SourceSettings, result: Fetched, tools: Tools) -> ParsedFeed:
    """A page with ``scrape:`` rules is read here (lxml, no recursion to fear); feeds go
    to the injected parser (the bounded worker processes in the service)."""
    if source.scrape is not None:
        return scrape_page(result.body, result.url, source.scrape, result.content_type)
    return tools.parser(result.body, result.url, result.content_type)


def _read(source: SourceSettings, state: SourceState | None, tools: Tools, now: datetime,
          stored_links: StoredLinks, result: Fetched, parsed: ParsedFeed, url: str | None
          ) -> SourceOutcome:
    entries, placed = _recent(parsed, state, tools, now)
    entries, placed, blocked = _by_rules(source, tools, entries, placed)
    reason = _ids_broken(source, state, entries, stored_links)
    by_link = reason is not None or (state is not None and state.identity == "link")
    parsed = replace(parsed, meta=replace(  # WebSub discovery: Link headers win (section 4)
        parsed.meta, hub=result.hub or parsed.meta.hub,
        self_link=result.topic or parsed.meta.self_link))
    origin = _origin(parsed.meta, result)
    candidates = tuple(stories.Candidate(
        source_id=source.id, kind=source.kind, identity=ident, data=e,
        categories=tools.taxonomy.classify(e, source),
        language=tools.languages.choose(e, source), origin=origin, by_link=by_link,
        placed=d)
        for ident, e, d in zip(identity.identities(entries, by_link), entries, placed,
                               strict=True))
    unmapped = Counter(word for e in parsed.entries
                       for word in tools.taxonomy.unmapped(e.raw_categories, source))
    reader = Reader(tools.settings, tools.taxonomy, tools.languages)
    report = tuple((f.severity, f.code, f.message)
                   for f in findings(result, parsed, source, reader, now,
                                     detect_language=False))
    return SourceOutcome(
        source.id, result, feed=parsed.meta, ttl_minutes=parsed.ttl_minutes,
        status=result.status, polled_url=url, candidates=candidates, identity_reason=reason,
        unmapped=dict(sorted(unmapped.most_common(MAX_UNMAPPED))), blocked=blocked,
        entries_read=len(parsed.entries), format=parsed.format, report=report,
        parser=parsed.parser or None)


def _by_rules(source: SourceSettings, tools: Tools, entries: list[EntryData],
              placed: list[datetime | None]
              ) -> tuple[list[EntryData], list[datetime | None], tuple[tuple[str, str], ...]]:
    """The entries the keep and block rules take; what they left out, and why."""
    rules = rules_for(tools.settings, source)
    if not (rules.keep or rules.block):
        return entries, placed, ()
    verdicts = [rules.verdict(e) for e in entries]
    kept = [(e, d) for (e, d), (ok, _) in zip(zip(entries, placed, strict=True), verdicts,
                                              strict=True) if ok]
    blocked = tuple((e.link or e.title, why) for e, (ok, why) in zip(entries, verdicts,
                                                                   strict=True) if not ok)
    return [e for e, _ in kept], [d for _, d in kept], blocked[:MAX_BLOCKED]


def _recent(parsed: ParsedFeed, state: SourceState | None, tools: Tools, now: datetime
            ) -> tuple[list[EntryData], list[datetime | None]]:
    """Entries retention would keep, with the dates undated ones get on a first poll (a
    whole backlog arrives at once: its order gives them places, see undated.py)."""
    oldest = retention.cutoff(tools.settings.retention, now)
    first_poll = state is None or state.last_success is None
    placed = place_undated(list(parsed.entries), now) if first_poll \
        else [None] * len(parsed.entries)
    kept = [(e, d) for e, d in zip(parsed.entries, placed, strict=True)
            if (e.published or e.updated or d or now) >= oldest]
    return [e for e, _ in kept], [d for _, d in kept]


def _ids_broken(source: SourceSettings, state: SourceState | None, entries: list[EntryData],
                stored_links: StoredLinks) -> str | None:
    """Why this source's ids are broken, when that is found now (then sticky, in state)."""
    if state is not None and state.identity == "link":
        return None
    # never read before: nothing of it is stored, so no store read (and no waiting for one)
    stored = dict(stored_links()) if state is not None and state.last_success else {}
    reason = identity.broken_ids(entries, stored)
    if reason is not None:
        log.warning("source %s: switching to link-based identity: %s", source.id, reason)
    return reason


def _origin(meta: FeedMeta, result: Fetched) -> FeedMeta:
    """The origin feed's metadata. Its rel=self is the URL we polled (where the feed really
    is); an RSS feed without a link is known by that URL too."""
    polled = safe_url(result.url)
    if polled is None:
        return meta
    return replace(meta, self_link=polled, link=meta.link or polled)
