"""Frozen data that crosses module boundaries.

No feedparser dict, TinyDB document or requests object leaves its own module: each is turned
into one of these first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

SourceKind = Literal["member", "partner"]
SCRAPED = "html-scrape"  # ParsedFeed.format of a page read by scrape: selectors
Outcome = Literal["updated", "not_modified", "error", "deferred"]
EventKind = Literal["failing", "recovered", "moved", "gone", "re-enabled",
                   "selectors-broken", "removed", "purged", "silent", "disabled"]


@dataclass(frozen=True)
class FeedMeta:
    """What we keep of the origin feed, for ``atom:source`` (RFC 4287 section 4.2.11)."""

    id: str | None = None
    title: str = ""
    link: str | None = None
    updated: datetime | None = None
    language: str | None = None
    self_link: str | None = None
    rights: str | None = None
    author: str | None = None
    hub: str | None = None  # a WebSub hub the feed names (rel="hub")


@dataclass(frozen=True)
class Enclosure:
    """A media file attached to an entry (RSS enclosure, Atom rel=enclosure, attachment)."""

    url: str
    type: str | None = None
    length: int | None = None


@dataclass(frozen=True)
class Image:
    """An entry's picture: an http(s) URL that passed the link checks, and its size when the
    feed says (media:thumbnail width/height, the content's <img> attributes)."""

    url: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class EntryData:
    """One entry as parsed and normalized from a source's feed; not yet identified or classified."""

    guid: str | None
    link: str | None
    title: str
    summary: str | None = None
    content: str | None = None
    authors: tuple[str, ...] = ()
    published: datetime | None = None
    updated: datetime | None = None
    raw_categories: tuple[str, ...] = ()
    language: str | None = None
    enclosures: tuple[Enclosure, ...] = ()
    image: Image | None = None


@dataclass(frozen=True)
class ReadNotes:
    """What reading a document had to work around, for the member's feed report."""

    ids_missing: int = 0  # entries without an id of their own
    dates_missing: int = 0  # entries with no date at all
    dates_unreadable: tuple[str, ...] = ()  # date texts no reader understood (first few)
    dates_ours: int = 0  # dates only our own reader reads (27/05/2021, "27 mai 2021")
    sanitized: int = 0  # entries whose HTML had scripts, frames or event handlers removed
    refused: int = 0  # items left out, the rest of the feed read (a JSON Feed item of wrong types)
    refused_why: tuple[str, ...] = ()  # why, for the first few


@dataclass(frozen=True)
class ParsedFeed:
    """A feed document read into our own types."""

    format: str
    meta: FeedMeta
    entries: tuple[EntryData, ...]
    ttl_minutes: int | None = None
    notes: ReadNotes = field(default_factory=ReadNotes)
    # which reader read it: "fastfeedparser", "feedparser (why the fast path declined)",
    # "json", or "" when the caller chose the parser itself
    parser: str = ""


@dataclass(frozen=True)
class Fetched:
    """A body was received (status 200) from ``url`` (the final URL after redirects)."""

    url: str
    body: bytes
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    status: int | None = 200  # None for a local file
    permanent_url: str | None = None  # target of the leading 301/308 redirects, if any
    max_age: float | None = None  # seconds fresh, from Cache-Control max-age or Expires
    warning: str | None = None  # followed, but worth an operator's look (https -> http)
    hub: str | None = None  # Link: <...>; rel="hub" (WebSub discovery, section 4)
    topic: str | None = None  # Link: <...>; rel="self"


@dataclass(frozen=True)
class NotModified:
    """304 to our conditional GET, or the same bytes as last time (status as received)."""

    status: int | None = 304
    permanent_url: str | None = None
    max_age: float | None = None
    etag: str | None = None  # validators a 304 may carry (RFC 9110: they replace the old)
    last_modified: str | None = None
    warning: str | None = None


@dataclass(frozen=True)
class StoredEntry:
    """An entry as the store keeps it and the renderers read it.

    ``key`` is unique in the store (source id + identity hash). ``duplicate_of`` is set on an
    entry that is a copy of another source's story; the primary lists its copies in ``via``.
    """

    key: str
    source_id: str
    entry_id: str
    title: str
    link: str | None
    canonical_link: str | None
    published: datetime
    updated: datetime
    first_seen: datetime
    content_hash: str
    guid: str | None = None
    summary: str | None = None
    content: str | None = None
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    raw_categories: tuple[str, ...] = ()
    language: str | None = None
    origin: FeedMeta = field(default_factory=FeedMeta)
    duplicate_of: str | None = None
    via: tuple[str, ...] = ()
    enclosures: tuple[Enclosure, ...] = ()
    image: Image | None = None
    own_categories: tuple[str, ...] = ()  # its own filing; `categories` adds its copies'
    story: str = ""  # entries telling the same story share this (see stories/plan.py)
    merge_reason: str | None = None  # why this entry joined its story, if it did
    revisions: int = 0  # content changes within the current churn window
    revision_window: datetime | None = None
    fingerprints: tuple[str, ...] = ()  # keys under which copies of its story are found
    copied_by: tuple[str, ...] = ()  # on a primary: the sources of its copies (any link)


@dataclass(frozen=True)
class WebSubState:
    """A subscription to a source's WebSub hub: kept so a restart keeps it."""

    hub: str
    topic: str
    secret: str  # signs the hub's pushes (HMAC); never leaves the store and the hub
    status: str = "pending"  # pending | active | denied
    requested: datetime | None = None  # when the subscription was last asked for
    expires: datetime | None = None  # end of the lease the hub granted


@dataclass(frozen=True)
class SourceState:
    """What the store remembers about polling one source."""

    source_id: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    http_status: int | None = None
    failures: int = 0
    last_error: str | None = None
    next_check_at: datetime | None = None
    feed: FeedMeta | None = None
    gone: bool = False  # answered 410: not polled until an operator re-enables it
    adopted_url: str | None = None  # permanent redirect target, seen on enough polls
    adopted_from: str | None = None  # the configured URL it replaces
    redirect_to: str | None = None  # permanent redirect target being counted
    redirect_seen: int = 0
    identity: str = "guid"  # "guid", or "link" once the feed's ids proved broken
    identity_reason: str | None = None
    unmapped: dict[str, int] = field(default_factory=dict)  # raw category words -> count
    ttl_minutes: int | None = None  # the feed's RSS <ttl>, kept for polls answered 304
    warning: str | None = None  # from the last successful poll (an https -> http redirect)
    host_hold: datetime | None = None  # its host's 429/503 Retry-After: the whole host waits
    empty_runs: int = 0  # a scraped page's polls in a row whose selectors matched nothing
    report: tuple[tuple[str, str, str], ...] = ()  # (severity, code, message): ingest/report.py
    report_at: datetime | None = None  # when the document the report is about was read
    parser: str | None = None  # which reader read the last document, and why (fast_path.py)
    websub: WebSubState | None = None  # a push subscription (ingest/push.py)
    blocked: tuple[tuple[str, str], ...] = ()  # its last document's entries left out by a
    # keep or block rule (config/rules.py): (link or title, which rule), the first few
    last_new: datetime | None = None  # when a poll last brought a new entry
    silent_since: datetime | None = None  # answers fine, nothing new since (silent_after)


@dataclass(frozen=True)
class SourceResult:
    """The outcome of polling one source in one cycle."""

    source_id: str
    outcome: Outcome
    new: int = 0
    changed: int = 0
    http_status: int | None = None
    error: str | None = None
    fetch_seconds: float | None = None  # None: not fetched (deferred)
    parse_seconds: float | None = None  # None: nothing parsed (304, error)
    merged: int = 0  # of its entries, stored as copies of another source's story


@dataclass(frozen=True)
class CycleReport:
    """What one poll cycle did; ``changed`` says whether outputs need a rebuild."""

    results: tuple[SourceResult, ...]

    @property
    def new(self) -> int:
        return sum(r.new for r in self.results)

    @property
    def updated(self) -> int:
        return sum(r.changed for r in self.results)

    @property
    def failed(self) -> int:
        return sum(r.outcome == "error" for r in self.results)

    @property
    def changed(self) -> bool:
        return self.new > 0 or self.updated > 0


@dataclass(frozen=True)
class SourceHealth:
    """One source's health as operators see it (status command, status.json)."""

    id: str
    name: str
    kind: str
    url: str
    state: str  # active | backing off | gone | disabled | never polled
    last_attempt: str | None
    last_success: str | None
    http_status: int | None
    failures: int
    last_error: str | None
    next_check: str | None
    entries: int  # stored, merged copies included
    adopted_url: str | None = None
    identity: str | None = None  # set when the feed's ids proved broken
    merged: int = 0  # of its entries, hidden as copies of another source's story
    warning: str | None = None  # the last poll worked, but look at this
    held_until: str | None = None  # its host asked every source of its to wait until then
    parser: str | None = None  # which reader read its last document, and why (fast_path.py)
    silent_since: str | None = None  # answers fine, but nothing new since then


@dataclass(frozen=True)
class Dirty:
    """What stored entries changed since the outputs were last published: the categories,
    language tags ("" for none), sources and months of publication of every entry written
    or removed, before and after. Publishing renders only the outputs these touch.
    A month is marked "YYYY-MM@<first seen>": its entries changed from that arrival on, the
    earliest of the month's changes (month_marks); a bare "YYYY-MM" (an older version's
    mark): any of them. ``months`` None: not known (marks an older version kept), so every
    month."""

    categories: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()
    months: frozenset[str] | None = frozenset()

    def __bool__(self) -> bool:
        return bool(self.categories or self.languages or self.sources)

    def __or__(self, other: Dirty) -> Dirty:
        months = None if self.months is None or other.months is None \
            else earliest(self.months | other.months)
        return Dirty(self.categories | other.categories, self.languages | other.languages,
                     self.sources | other.sources, months)

    def __sub__(self, other: Dirty) -> Dirty:
        """What is left to publish once ``other`` is: a month marked again since, by an
        entry of a source still marked, may have gone with it: then every month."""
        if other.months is None:
            months: frozenset[str] | None = frozenset()
        else:
            months = None if self.months is None else self.months - other.months
        return Dirty.kept(self.categories - other.categories,
                          self.languages - other.languages, self.sources - other.sources,
                          months)

    @classmethod
    def of(cls, entries: Iterable[StoredEntry]) -> Dirty:
        found = list(entries)
        return cls(frozenset(c for e in found for c in e.categories),
                   frozenset(e.language or "" for e in found),
                   frozenset(e.source_id for e in found),
                   month_marks((e.published, e.first_seen) for e in found))

    @classmethod
    def kept(cls, categories: Iterable[str], languages: Iterable[str], sources: Iterable[str],
             months: Iterable[str] | None) -> Dirty:
        """Marks as a store keeps them: every entry has a month, so marks of sources
        without any were kept by a version that did not note months (None: all)."""
        found = cls(frozenset(categories), frozenset(languages), frozenset(sources),
                    None if months is None else frozenset(months))
        return replace(found, months=None) if found.sources and not found.months else found


def month_of(when: datetime) -> str:
    """YYYY-MM, by hand (strftime for every row was 6 % of a publish)."""
    return f"{when.year:04d}-{when.month:02d}"


def month_marks(dates: Iterable[tuple[datetime, datetime]]) -> frozenset[str]:
    """The marks of entries (published, first seen) that changed: per month of
    publication, the earliest arrival among them ("YYYY-MM@<first seen>"). A month's pages
    are laid out by arrival, so the parts holding only earlier arrivals stay as they were."""
    first: dict[str, datetime] = {}
    for published, seen in dates:
        month = month_of(published)
        known = first.get(month)
        if known is None or seen < known:
            first[month] = seen
    return frozenset(f"{m}@{t.isoformat()}" for m, t in first.items())


def changed_since(marks: Iterable[str]) -> dict[str, datetime | None]:
    """Month -> the earliest arrival that changed in it (None: any may have: a bare month,
    as older versions marked it, or one not read)."""
    out: dict[str, datetime | None] = {}
    for mark in marks:
        month, _, at = mark.partition("@")
        when = _arrival(at)
        if month not in out:
            out[month] = when
        else:
            known = out[month]
            out[month] = None if known is None or when is None else min(known, when)
    return out


def _arrival(at: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(at) if at else None
    except ValueError:  # a mark not ours: the whole month
        return None
    return when if when is not None and when.tzinfo is not None else None


def earliest(marks: frozenset[str]) -> frozenset[str]:
    """The same marks with one per month (the earliest: it covers the later ones)."""
    if len(marks) < 2:
        return marks
    since = changed_since(marks)
    if len(since) == len(marks):
        return marks
    return frozenset(m if t is None else f"{m}@{t.isoformat()}" for m, t in since.items())


@dataclass(frozen=True)
class SourceEvent:
    """A change in a source's health worth telling operators about (status.atom)."""

    source_id: str
    kind: EventKind
    at: datetime
    detail: str = ""
