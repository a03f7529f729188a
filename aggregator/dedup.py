"""Pure dedup decisions: identity keys, content hashes, canonical URLs, stories, the plan.

Nothing here does I/O: ``plan`` takes the cycle's candidates and lookups into what is
stored, and returns the entries to write.

- Identity within a source: guid, else link, else a hash of title and content; repeated
  guids inside one feed are told apart. A feed whose ids are broken is read by link instead.
- A story: entries from several sources with the same canonical link, or near-duplicates
  (similarity.py), share a ``story``; its primary is the original publisher (earliest
  published, a member before a partner on a tie), the copies are its ``via`` links and
  their categories are merged into it. The primary is chosen from the whole group by a total
  order, so ingest order does not change the outcome.
- Updates: a content hash decides whether an entry changed; ``updated`` never moves back;
  an entry that changes more than MAX_REVISIONS times a day is frozen until the day is over.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from . import similarity
from .dates import plausible
from .models import EntryData, FeedMeta, SourceKind, StoredEntry

_TRACKING = ("utm_", "mc_", "_hs", "pk_", "mtm_")
_TRACKING_EXACT = {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "ref", "ref_src"}
_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_REVISIONS = 3  # content changes per entry per CHURN_WINDOW before it is frozen
CHURN_WINDOW = timedelta(days=1)


def canonical_url(url: str | None) -> str | None:
    """A comparison form of a URL; the published link stays as the publisher wrote it."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    try:
        port = parts.port
    except ValueError:  # a malformed port: compare the URL as written
        return url.strip()
    if port and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not k.lower().startswith(_TRACKING) and k.lower() not in _TRACKING_EXACT]
    path = parts.path.rstrip("/") or "/"
    # http and https are compared as one: many sites serve both.
    return urlunsplit(("https", host, path, urlencode(sorted(query)), ""))


def _digest(*parts: str | None, size: int = 20) -> str:
    h = hashlib.sha256("\x1f".join(p or "" for p in parts).encode("utf-8"))
    return h.hexdigest()[:size]


def identities(entries: Iterable[EntryData], by_link: bool = False) -> list[str]:
    """Identity of each entry in one feed: guid (unless ``by_link``), else link, else a hash
    of title and content. A repeated identity is told apart by link, then by position."""
    seen: set[str] = set()
    out: list[str] = []
    for position, e in enumerate(entries):
        guid = None if by_link else e.guid
        ident = guid or e.link or "hash:" + _digest(e.title, e.content or e.summary)
        if ident in seen:
            ident = f"{ident}#{e.link}" if e.link and f"{ident}#{e.link}" not in seen else \
                f"{ident}#{position}"
        seen.add(ident)
        out.append(ident)
    return out


def broken_ids(entries: list[EntryData], stored_guids: dict[str, str]) -> str | None:
    """Why this feed's guids cannot identify its entries, or None when they can.

    ``stored_guids``: canonical link -> guid of the entries already stored for the source.
    """
    guids = [e.guid for e in entries if e.guid]
    if len(guids) >= 3 and len(set(guids)) * 2 <= len(guids):
        return f"ids mostly duplicated ({len(set(guids))} distinct of {len(guids)})"
    same = changed = 0
    for e in entries:
        before = stored_guids.get(canonical_url(e.link) or "")
        if before is not None and e.guid:
            same, changed = (same + 1, changed) if before == e.guid else (same, changed + 1)
    if changed >= 3 and changed > same:
        return f"ids change between fetches ({changed} known links came with new ids)"
    return None


def content_hash(e: EntryData, categories: tuple[str, ...], language: str) -> str:
    """Changes when a reader would see a difference."""
    return _digest(e.title, e.link, e.summary, e.content, "|".join(e.authors),
                   "|".join(x.url for x in e.enclosures),
                   "|".join(e.raw_categories), "|".join(categories), language,
                   e.published.isoformat() if e.published else None,
                   e.updated.isoformat() if e.updated else None, size=32)


@dataclass(frozen=True)
class Candidate:
    """A parsed, classified entry of one source, ready for planning."""

    source_id: str
    kind: SourceKind
    identity: str
    data: EntryData
    categories: tuple[str, ...]
    language: str
    origin: FeedMeta
    by_link: bool = False  # the source's ids are broken: match stored entries by link

    @property
    def key(self) -> str:
        return f"{self.source_id}:{_digest(self.identity)}"


@dataclass(frozen=True)
class Lookups:
    """Read access to what is stored, as plain functions (the plan stays pure)."""

    get: Callable[[str], StoredEntry | None]
    by_canonical: Callable[[str], list[StoredEntry]]
    by_story: Callable[[str], list[StoredEntry]]
    published_between: Callable[[datetime, datetime], list[StoredEntry]]
    is_tombstone: Callable[[str], bool] = lambda key: False


@dataclass(frozen=True)
class Plan:
    """Entries to write, and per source how many were new or changed."""

    writes: tuple[StoredEntry, ...]
    new: dict[str, int]
    changed: dict[str, int]


@dataclass
class _Planner:
    lookups: Lookups
    kinds: dict[str, SourceKind]
    id_prefix: str
    now: datetime
    fallback: str
    writes: dict[str, StoredEntry] = field(default_factory=dict)
    new: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    _prints: dict[tuple[str, str], similarity.Fingerprint] = field(default_factory=dict)

    def add(self, c: Candidate) -> None:
        key, old = self._existing(c)
        if old is None and self.lookups.is_tombstone(key):
            return  # pruned by retention: a feed that still lists it cannot bring it back
        entry = _merge(c, key, old, self.id_prefix, self.now)
        if entry is None:
            return
        if old is None:
            entry = self._join_story(entry)
        counter = self.changed if old else self.new
        counter[c.source_id] = counter.get(c.source_id, 0) + 1
        self.writes[key] = entry

    def _existing(self, c: Candidate) -> tuple[str, StoredEntry | None]:
        old = self.writes.get(c.key) or self.lookups.get(c.key)
        if old is None and c.by_link and c.data.link:
            # ids switched to links: the entry may be stored under its old guid-based key
            link = canonical_url(c.data.link) or ""
            same = [e for e in self._with_link(link) if e.source_id == c.source_id]
            if same:
                return same[0].key, same[0]
        return c.key, old

    def _with_link(self, link: str) -> list[StoredEntry]:
        found = {e.key: e for e in self.lookups.by_canonical(link)}
        found.update({k: e for k, e in self.writes.items() if e.canonical_link == link})
        return [found[k] for k in sorted(found)]

    def _join_story(self, entry: StoredEntry) -> StoredEntry:
        if entry.canonical_link:
            others = [e for e in self._with_link(entry.canonical_link) if e.key != entry.key]
            if others:
                return replace(entry, story=others[0].story)
        match = self._near_duplicate(entry)
        return replace(entry, story=match.story) if match is not None else entry

    def _near_duplicate(self, entry: StoredEntry) -> StoredEntry | None:
        mine = similarity.of_entry(entry)
        if not mine:
            return None
        low, high = entry.published - similarity.WINDOW, entry.published + similarity.WINDOW
        pool = {e.key: e for e in self.lookups.published_between(low, high)}
        pool.update({k: e for k, e in self.writes.items() if low <= e.published <= high})
        best: tuple[float, str] | None = None
        for key in sorted(pool):
            other = pool[key]
            if other.source_id == entry.source_id:
                continue
            score = similarity.similarity(mine, self._print(other))
            if score >= similarity.THRESHOLD and (best is None or score > best[0]):
                best = (score, key)
        return pool[best[1]] if best else None

    def _print(self, e: StoredEntry) -> similarity.Fingerprint:
        cache_key = (e.key, e.content_hash)
        if cache_key not in self._prints:
            self._prints[cache_key] = similarity.of_entry(e)
        return self._prints[cache_key]

    def resolve_stories(self) -> None:
        for story in sorted({e.story for e in self.writes.values()}):
            members = {e.key: e for e in self.lookups.by_story(story)}
            members.update({k: e for k, e in self.writes.items() if e.story == story})
            self.writes.update(_resolve_group(list(members.values()), self.kinds,
                                              self.fallback))


def plan(candidates: Iterable[Candidate], lookups: Lookups, kinds: dict[str, SourceKind],
         id_prefix: str, now: datetime, fallback: str = "uncategorized") -> Plan:
    """Decide what to store: new entries, changed entries, and who is the primary of a story.

    Candidates are taken in (source, key) order, so the plan does not depend on the order
    in which sources answered."""
    planner = _Planner(lookups, kinds, id_prefix, now, fallback)
    for c in sorted(candidates, key=lambda c: (c.source_id, c.key)):
        planner.add(c)
    planner.resolve_stories()
    writes = planner.writes
    return Plan(tuple(writes[k] for k in sorted(writes)), planner.new, planner.changed)


def _merge(c: Candidate, key: str, old: StoredEntry | None, id_prefix: str, now: datetime
           ) -> StoredEntry | None:
    digest = content_hash(c.data, c.categories, c.language)
    if old is not None and old.content_hash == digest:
        return None
    revisions, window = _revision(old, now)
    if revisions > MAX_REVISIONS:
        return None  # churning (counters, timestamps in the text): frozen for now
    first_seen = old.first_seen if old else now
    published = (plausible(c.data.published, now) or plausible(c.data.updated, now)
                 or (old.published if old else first_seen))
    updated = max(plausible(c.data.updated, now) or published, published)
    if old is not None:
        updated = max(updated, old.updated)  # an update never moves `updated` backwards
    d = c.data
    canonical = canonical_url(d.link)
    return StoredEntry(
        key=key, source_id=c.source_id, entry_id=f"{id_prefix}entry/{key.replace(':', '/')}",
        title=d.title, link=d.link, canonical_link=canonical, published=published,
        updated=updated, first_seen=first_seen, content_hash=digest, guid=d.guid,
        summary=d.summary, content=d.content, authors=d.authors, categories=c.categories,
        own_categories=c.categories,
        raw_categories=d.raw_categories, language=c.language, origin=c.origin,
        enclosures=d.enclosures, story=old.story if old else canonical or key,
        merge_reason=old.merge_reason if old else None, revisions=revisions,
        revision_window=window, duplicate_of=old.duplicate_of if old else None,
        via=old.via if old else ())


def _revision(old: StoredEntry | None, now: datetime) -> tuple[int, datetime | None]:
    if old is None:
        return 0, None
    window = old.revision_window
    if window is None or now - window >= CHURN_WINDOW:
        return 1, now
    return old.revisions + 1, window


def _rank(e: StoredEntry, kinds: dict[str, SourceKind]) -> tuple[datetime, int, str, str]:
    # The original publisher wins: earliest published, a member before a partner on a tie.
    return (e.published, 0 if kinds.get(e.source_id) == "member" else 1, e.source_id, e.key)


def _resolve_group(members: list[StoredEntry], kinds: dict[str, SourceKind], fallback: str
                   ) -> dict[str, StoredEntry]:
    """Mark one primary per story; copies point to it, it lists them as via."""
    ordered = sorted(members, key=lambda e: _rank(e, kinds))
    primary, copies = ordered[0], ordered[1:]
    categories = list(dict.fromkeys(c for e in ordered for c in _own(e)))
    if len(categories) > 1 and fallback in categories:
        categories.remove(fallback)  # the fallback only stays when nobody has a real one
    story = primary.canonical_link or primary.key  # named by its primary: order-independent
    out = {e.key: replace(e, duplicate_of=primary.key, via=(), story=story,
                          categories=_own(e), merge_reason=_reason(e, primary))
           for e in copies}
    out[primary.key] = replace(
        primary, duplicate_of=None, story=story, merge_reason=None,
        via=tuple(sorted({e.link for e in copies if e.link and e.link != primary.link})),
        categories=tuple(categories) if copies else _own(primary))
    return {k: e for k, e in out.items() if e != _find(members, k)}


def _own(e: StoredEntry) -> tuple[str, ...]:
    return e.own_categories or e.categories


def _reason(copy: StoredEntry, primary: StoredEntry) -> str:
    if copy.canonical_link and copy.canonical_link == primary.canonical_link:
        return f"same link as {primary.key}"
    score = similarity.similarity(similarity.of_entry(copy), similarity.of_entry(primary))
    return f"similar title and text ({score:.2f}) to {primary.key}"


def _find(members: list[StoredEntry], key: str) -> StoredEntry | None:
    return next((e for e in members if e.key == key), None)
