"""Pure dedup decisions: identity keys, content hashes, canonical URLs and the merge plan.

Nothing here does I/O: ``plan`` takes the cycle's candidates and a lookup into what is already
stored, and returns the entries to write.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .dates import plausible
from .models import EntryData, FeedMeta, SourceKind, StoredEntry

_TRACKING = ("utm_", "mc_", "_hs", "pk_", "mtm_")
_TRACKING_EXACT = {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "ref", "ref_src"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


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


def identities(entries: Iterable[EntryData]) -> list[str]:
    """Identity of each entry in one feed: guid, else link, else a hash of title and content.

    A guid repeated inside one feed is told apart by link, then by position, never merged.
    """
    seen: set[str] = set()
    out: list[str] = []
    for position, e in enumerate(entries):
        ident = e.guid or e.link or "hash:" + _digest(e.title, e.content or e.summary)
        if ident in seen:
            ident = f"{ident}#{e.link}" if e.link and f"{ident}#{e.link}" not in seen else \
                f"{ident}#{position}"
        seen.add(ident)
        out.append(ident)
    return out


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

    @property
    def key(self) -> str:
        return f"{self.source_id}:{_digest(self.identity)}"


@dataclass(frozen=True)
class Plan:
    """Entries to write, and per source how many were new or changed."""

    writes: tuple[StoredEntry, ...]
    new: dict[str, int]
    changed: dict[str, int]


Lookup = Callable[[str], StoredEntry | None]
GroupLookup = Callable[[str], list[StoredEntry]]


def plan(candidates: Iterable[Candidate], get: Lookup, group: GroupLookup,
         kinds: dict[str, SourceKind], id_prefix: str, now: datetime) -> Plan:
    """Decide what to store: new entries, changed entries, and who is the primary of a story."""
    writes: dict[str, StoredEntry] = {}
    new: dict[str, int] = {}
    changed: dict[str, int] = {}
    for c in candidates:
        old = writes.get(c.key) or get(c.key)
        entry = _merge(c, old, id_prefix, now)
        if entry is None:
            continue
        counter = changed if old else new
        counter[c.source_id] = counter.get(c.source_id, 0) + 1
        writes[c.key] = entry
    for link in sorted({e.canonical_link for e in writes.values() if e.canonical_link}):
        members = {e.key: e for e in group(link)}
        members.update({k: e for k, e in writes.items() if e.canonical_link == link})
        writes.update(_resolve_group(list(members.values()), kinds))
    return Plan(tuple(writes[k] for k in sorted(writes)), new, changed)


def _merge(c: Candidate, old: StoredEntry | None, id_prefix: str, now: datetime
           ) -> StoredEntry | None:
    digest = content_hash(c.data, c.categories, c.language)
    if old is not None and old.content_hash == digest:
        return None
    first_seen = old.first_seen if old else now
    published = (plausible(c.data.published, now) or plausible(c.data.updated, now)
                 or (old.published if old else first_seen))
    updated = max(plausible(c.data.updated, now) or published, published)
    if old is not None:
        updated = max(updated, old.updated)  # an update never moves `updated` backwards
    d = c.data
    return StoredEntry(
        key=c.key, source_id=c.source_id, entry_id=f"{id_prefix}entry/{c.key.replace(':', '/')}",
        title=d.title, link=d.link, canonical_link=canonical_url(d.link), published=published,
        updated=updated, first_seen=first_seen, content_hash=digest, guid=d.guid,
        summary=d.summary, content=d.content, authors=d.authors, categories=c.categories,
        raw_categories=d.raw_categories, language=c.language, origin=c.origin,
        enclosures=d.enclosures)


def _rank(e: StoredEntry, kinds: dict[str, SourceKind]) -> tuple[datetime, int, str, str]:
    # The original publisher wins: earliest published, a member before a partner on a tie.
    return (e.published, 0 if kinds.get(e.source_id) == "member" else 1, e.source_id, e.key)


def _resolve_group(members: list[StoredEntry], kinds: dict[str, SourceKind]
                   ) -> dict[str, StoredEntry]:
    """Mark one primary per canonical link; copies point to it, it lists them as via."""
    ordered = sorted(members, key=lambda e: _rank(e, kinds))
    primary, copies = ordered[0], ordered[1:]
    categories = list(dict.fromkeys(c for e in ordered for c in e.categories))
    if len(categories) > 1 and "uncategorized" in categories:
        categories.remove("uncategorized")
    out = {e.key: replace(e, duplicate_of=primary.key, via=()) for e in copies}
    out[primary.key] = replace(
        primary, duplicate_of=None, via=tuple(sorted({e.link for e in copies if e.link})),
        categories=tuple(categories))
    return {k: e for k, e in out.items() if e != _find(members, k)}


def _find(members: list[StoredEntry], key: str) -> StoredEntry | None:
    return next((e for e in members if e.key == key), None)
