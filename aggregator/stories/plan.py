"""The story planner, pure: what a batch of candidates does to the store.

Nothing here does I/O: ``plan`` takes the cycle's candidates and lookups into what is
stored, and returns the entries to write.

- Identity within a source (identity.py): guid, else link, else a hash of title and
  content; a feed whose ids are broken is read by link instead.
- A story: entries from several sources with the same canonical link, or near-duplicates
  (similarity.py), share a ``story``; its primary is the original publisher (earliest
  published, a member before a partner on a tie), the copies are its ``via`` links and
  their categories are merged into it. The primary is chosen from the whole group by a total
  order, so ingest order does not change the outcome.
- Updates: a content hash decides whether an entry changed; ``updated`` never moves back;
  an entry that changes more than MAX_REVISIONS times a day is frozen until the day is over.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from aggregator.dates import plausible
from aggregator.models import EntryData, FeedMeta, SourceKind, StoredEntry
from aggregator.stories import similarity
from aggregator.stories.identity import canonical_url, content_hash, digest
from aggregator.stories.retention import takedown_link

MAX_REVISIONS = 3  # content changes per entry per CHURN_WINDOW before it is frozen
CHURN_WINDOW = timedelta(days=1)


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
    placed: datetime | None = None  # undated on a first poll: the date its place gives it

    @property
    def key(self) -> str:
        return f"{self.source_id}:{digest(self.identity)}"


@dataclass(frozen=True)
class Lookups:
    """Read access to what is stored, as plain functions (the plan stays pure)."""

    get: Callable[[str], StoredEntry | None]
    by_canonical: Callable[[str], list[StoredEntry]]
    by_story: Callable[[str], list[StoredEntry]]
    by_fingerprint: Callable[[str, datetime, datetime, int | None], list[StoredEntry]]
    is_tombstone: Callable[[str], bool] = lambda key: False


@dataclass(frozen=True)
class Plan:
    """Entries to write, and per source how many were new or changed."""

    writes: tuple[StoredEntry, ...]
    new: dict[str, int]
    changed: dict[str, int]


ID_WINDOW = timedelta(days=366)  # a shared global id is evidence whatever the dates


@dataclass
class _Batch:
    """The entries planned so far in this cycle, indexed like the store (no scans)."""

    entries: dict[str, StoredEntry] = field(default_factory=dict)
    by_link: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    by_story: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    by_print: dict[str, similarity.Bucket] = field(
        default_factory=lambda: defaultdict(list))  # like the store's index

    def put(self, e: StoredEntry) -> None:
        old = self.entries.get(e.key)
        if old is not None:
            self.by_story[old.story].discard(e.key)
            if old.canonical_link:
                self.by_link[old.canonical_link].discard(e.key)
            for fp in old.fingerprints:
                self.by_print[fp].remove(similarity.bucket_item(old.published, old.key, old.title))
        self.entries[e.key] = e
        self.by_story[e.story].add(e.key)
        if e.canonical_link:
            self.by_link[e.canonical_link].add(e.key)
        for fp in e.fingerprints:
            bisect.insort(self.by_print[fp], similarity.bucket_item(e.published, e.key, e.title))

    def pick(self, keys: Iterable[str]) -> dict[str, StoredEntry]:
        return {k: self.entries[k] for k in keys}


@dataclass
class _Planner:
    lookups: Lookups
    kinds: dict[str, SourceKind]
    id_prefix: str
    now: datetime
    fallback: str
    batch: _Batch = field(default_factory=_Batch)
    new: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)

    def add(self, c: Candidate) -> None:
        key, old = self._existing(c)
        if old is None and (self.lookups.is_tombstone(key) or self._taken_down(c)):
            return  # pruned or taken down: a feed that still lists it cannot bring it back
        entry = _merge(c, key, old, self.id_prefix, self.now)
        if entry is None:
            return
        if old is None:
            entry = self._join_story(entry)
        counter = self.changed if old else self.new
        counter[c.source_id] = counter.get(c.source_id, 0) + 1
        self.batch.put(entry)

    def _taken_down(self, c: Candidate) -> bool:
        """An operator removed an entry with this link (entries remove): from any source."""
        link = canonical_url(c.data.link)
        return link is not None and self.lookups.is_tombstone(takedown_link(link))

    def _existing(self, c: Candidate) -> tuple[str, StoredEntry | None]:
        old = self.batch.entries.get(c.key) or self.lookups.get(c.key)
        if old is None and c.by_link and c.data.link:
            # ids switched to links: the entry may be stored under its old guid-based key
            link = canonical_url(c.data.link) or ""
            same = [e for e in self._with_link(link) if e.source_id == c.source_id]
            if same:
                return same[0].key, same[0]
        return c.key, old

    def _with_link(self, link: str) -> list[StoredEntry]:
        found = {e.key: e for e in self.lookups.by_canonical(link)}
        found.update(self.batch.pick(self.batch.by_link.get(link, ())))
        return [found[k] for k in sorted(found)]

    def _members(self, story: str) -> list[StoredEntry]:
        found = {e.key: e for e in self.lookups.by_story(story)}
        found.update(self.batch.pick(self.batch.by_story.get(story, ())))
        return [found[k] for k in sorted(found)]

    def _with_print(self, fp: str, low: datetime, high: datetime, title_bits: int | None
                    ) -> list[StoredEntry]:
        found = {e.key: e for e in self.lookups.by_fingerprint(fp, low, high, title_bits)}
        keys = similarity.bucket_keys(self.batch.by_print.get(fp, []), low, high, title_bits)
        found.update(self.batch.pick(keys))
        return [found[k] for k in sorted(found)]

    def _join_story(self, entry: StoredEntry) -> StoredEntry:
        """Join the story that strong evidence ties this new entry to, if any.

        The evidence is checked against the story's primary, never through another copy,
        and a story holds at most one entry of each source: a source's distinct ids are
        distinct entries, whatever their links."""
        candidates: dict[str, None] = {}
        if entry.canonical_link:
            candidates.update((e.story, None) for e in self._with_link(entry.canonical_link))
        seen: set[str] = set()
        signature = similarity.title_signature(entry.title)
        for fp in similarity.lookup_keys(entry.title, entry.summary or entry.content,
                                         entry.guid):
            # an id is evidence alone; an opening only with a title inside the other's
            window, bits = (ID_WINDOW, None) if fp.startswith("g:") else (similarity.WINDOW,
                                                                             signature)
            for e in self._with_print(fp, entry.published - window, entry.published + window,
                                      bits):
                # the fingerprint is only a hint: the entry must itself be evidence
                if e.key not in seen and e.story not in candidates \
                        and e.source_id != entry.source_id and evidence(entry, e) is not None:
                    candidates[e.story] = None
                seen.add(e.key)
        best: tuple[int, float, bool, float, str] | None = None
        for story in sorted(candidates):
            members = self._members(story)
            if not members or any(m.source_id == entry.source_id for m in members):
                continue
            primary = min(members, key=lambda m: _rank(m, self.kinds))
            found = evidence(entry, primary)
            if found is None:
                continue
            # Several stories of one source on one page (anchors, a listing page): the one
            # with the very same link, then the nearest in time.
            rank = (found[0], -found[1], primary.link != entry.link,
                    abs((primary.published - entry.published).total_seconds()), story)
            best = rank if best is None else min(best, rank)
        return replace(entry, story=best[4]) if best else entry

    def resolve_stories(self) -> None:
        for story in sorted({e.story for e in self.batch.entries.values()}):
            for e in _resolve_group(self._members(story), self.kinds, self.fallback).values():
                self.batch.put(e)


def plan(candidates: Iterable[Candidate], lookups: Lookups, kinds: dict[str, SourceKind],
         id_prefix: str, now: datetime, fallback: str = "uncategorized") -> Plan:
    """Decide what to store: new entries, changed entries, and who is the primary of a story.

    Candidates are taken in (source, key) order, so the plan does not depend on the order
    in which sources answered."""
    planner = _Planner(lookups, kinds, id_prefix, now, fallback)
    for c in sorted(candidates, key=lambda c: (c.source_id, c.key)):
        planner.add(c)
    planner.resolve_stories()
    writes = planner.batch.entries
    return Plan(tuple(writes[k] for k in sorted(writes)), planner.new, planner.changed)


def evidence(a: StoredEntry, b: StoredEntry) -> tuple[int, float, str] | None:
    """Strong evidence that ``a`` and ``b`` (of different sources) are one story:
    (strength rank, score, description), or None. See similarity.py for the rule."""
    if a.canonical_link and a.canonical_link == b.canonical_link:
        return 0, 1.0, f"same link as {b.key}"
    gid = similarity.global_id(a.guid)
    if gid is not None and gid == similarity.global_id(b.guid):
        return 1, 1.0, f"same id {gid!r} as {b.key}"
    if abs(a.published - b.published) > similarity.WINDOW:
        return None
    found = similarity.republished(_text(a), _text(b))
    if found is None:
        return None
    return 2, found.score, f"{found.describe()} as {b.key}"


def _text(e: StoredEntry) -> similarity.Text:
    return similarity.text_of(e.title, e.summary or e.content)


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
                 or (old.published if old else c.placed or first_seen))
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
        enclosures=d.enclosures, image=d.image, story=old.story if old else key,
        fingerprints=similarity.fingerprints(d.title, d.summary or d.content, d.guid),
        merge_reason=old.merge_reason if old else None, revisions=revisions,
        revision_window=window, duplicate_of=old.duplicate_of if old else None,
        via=old.via if old else (), copied_by=old.copied_by if old else ())


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
    """Mark one primary per story; copies point to it, it lists them as via.

    Every copy must carry its own evidence against the primary, and a story holds one entry
    per source: a member without either is detached into a story of its own (this is what
    stops A~B, B~C from merging A and C, whatever the order they arrived in)."""
    ordered = sorted(members, key=lambda e: _rank(e, kinds))
    primary = ordered[0]
    copies: dict[str, tuple[StoredEntry, str]] = {}
    alone: list[StoredEntry] = []
    sources = {primary.source_id}
    for e in ordered[1:]:
        found = evidence(e, primary) if e.source_id not in sources else None
        if found is None:
            alone.append(e)
            continue
        sources.add(e.source_id)
        copies[e.key] = (e, found[2])
    categories = list(dict.fromkeys(c for e in [primary, *(c for c, _ in copies.values())]
                                    for c in _own(e)))
    if len(categories) > 1 and fallback in categories:
        categories.remove(fallback)  # the fallback only stays when nobody has a real one
    story = primary.key  # named by its primary: order-independent
    out = {e.key: replace(e, duplicate_of=primary.key, via=(), story=story,
                          categories=_own(e), merge_reason=reason, copied_by=())
           for e, reason in copies.values()}
    out.update({e.key: replace(e, duplicate_of=None, via=(), story=e.key, merge_reason=None,
                               categories=_own(e), copied_by=()) for e in alone})
    out[primary.key] = replace(
        primary, duplicate_of=None, story=story, merge_reason=None,
        via=tuple(sorted({e.link for e, _ in copies.values()
                          if e.link and e.link != primary.link})),
        copied_by=tuple(sorted({e.source_id for e, _ in copies.values()})),
        categories=tuple(categories) if copies else _own(primary))
    return {k: e for k, e in out.items() if e != _find(members, k)}


def _own(e: StoredEntry) -> tuple[str, ...]:
    return e.own_categories or e.categories


def _find(members: list[StoredEntry], key: str) -> StoredEntry | None:
    return next((e for e in members if e.key == key), None)
