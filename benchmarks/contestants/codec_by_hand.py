"""The store codec as it was written by hand before issue 24 (each field named twice per
record), kept as the alternative that benchmarks/bench_codec.py measures the derived codec
(aggregator/store/codec.py) against."""

from __future__ import annotations

from typing import Any

from aggregator.dates import from_iso, iso
from aggregator.models import (
    Enclosure,
    FeedMeta,
    Image,
    SourceEvent,
    SourceState,
    StoredEntry,
    WebSubState,
)
from aggregator.stories.similarity import current, fingerprints


def meta_to_dict(m: FeedMeta) -> dict[str, Any]:
    return {"id": m.id, "title": m.title, "link": m.link, "updated": iso(m.updated),
            "language": m.language, "self_link": m.self_link, "rights": m.rights,
            "author": m.author, "hub": m.hub}


def meta_from_dict(d: dict[str, Any]) -> FeedMeta:
    return FeedMeta(id=d.get("id"), title=d.get("title") or "", link=d.get("link"),
                    updated=from_iso(d.get("updated")), language=d.get("language"),
                    self_link=d.get("self_link"), rights=d.get("rights"),
                    author=d.get("author"), hub=d.get("hub"))


def entry_to_dict(e: StoredEntry) -> dict[str, Any]:
    return {
        "key": e.key, "source_id": e.source_id, "entry_id": e.entry_id, "title": e.title,
        "link": e.link, "canonical_link": e.canonical_link, "published": iso(e.published),
        "updated": iso(e.updated), "first_seen": iso(e.first_seen),
        "content_hash": e.content_hash, "guid": e.guid, "summary": e.summary,
        "content": e.content, "authors": list(e.authors), "categories": list(e.categories),
        "raw_categories": list(e.raw_categories), "language": e.language,
        "origin": meta_to_dict(e.origin), "duplicate_of": e.duplicate_of, "via": list(e.via),
        "enclosures": [{"url": x.url, "type": x.type, "length": x.length}
                       for x in e.enclosures],
        "image": ({"url": e.image.url, "width": e.image.width, "height": e.image.height}
                  if e.image else None),
        "own_categories": list(e.own_categories), "story": e.story,
        "merge_reason": e.merge_reason, "revisions": e.revisions,
        "revision_window": iso(e.revision_window), "fingerprints": list(e.fingerprints),
    }


def _image(d: dict[str, Any] | None) -> Image | None:
    return Image(d["url"], d.get("width"), d.get("height")) if d else None


def entry_from_dict(d: dict[str, Any]) -> StoredEntry:
    published, updated, first_seen = (from_iso(d[k]) for k in ("published", "updated",
                                                               "first_seen"))
    if published is None or updated is None or first_seen is None:
        raise ValueError(f"entry {d.get('key')!r} lacks a date")
    return StoredEntry(
        key=d["key"], source_id=d["source_id"], entry_id=d["entry_id"], title=d["title"],
        link=d.get("link"), canonical_link=d.get("canonical_link"), published=published,
        updated=updated, first_seen=first_seen, content_hash=d["content_hash"],
        guid=d.get("guid"), summary=d.get("summary"), content=d.get("content"),
        authors=tuple(d.get("authors") or ()), categories=tuple(d.get("categories") or ()),
        raw_categories=tuple(d.get("raw_categories") or ()), language=d.get("language"),
        origin=meta_from_dict(d.get("origin") or {}), duplicate_of=d.get("duplicate_of"),
        via=tuple(d.get("via") or ()),
        enclosures=tuple(Enclosure(x["url"], x.get("type"), x.get("length"))
                         for x in d.get("enclosures") or ()),
        image=_image(d.get("image")),
        own_categories=tuple(d.get("own_categories") or d.get("categories") or ()),
        story=d.get("story") or d.get("canonical_link") or d["key"],
        merge_reason=d.get("merge_reason"), revisions=int(d.get("revisions") or 0),
        revision_window=from_iso(d.get("revision_window")),
        fingerprints=_fingerprints(d))


def _fingerprints(d: dict[str, Any]) -> tuple[str, ...]:
    if "fingerprints" in d and current(d["fingerprints"]):
        return tuple(d["fingerprints"])
    # a store written before these fingerprints: computed once, written back on next change
    return fingerprints(d["title"], d.get("summary") or d.get("content"), d.get("guid"))


def state_to_dict(s: SourceState) -> dict[str, Any]:
    return {
        "source_id": s.source_id, "etag": s.etag, "last_modified": s.last_modified,
        "body_hash": s.body_hash, "last_attempt": iso(s.last_attempt),
        "last_success": iso(s.last_success), "http_status": s.http_status,
        "failures": s.failures, "last_error": s.last_error,
        "next_check_at": iso(s.next_check_at),
        "feed": meta_to_dict(s.feed) if s.feed else None, "gone": s.gone,
        "adopted_url": s.adopted_url, "adopted_from": s.adopted_from,
        "redirect_to": s.redirect_to, "redirect_seen": s.redirect_seen,
        "identity": s.identity, "identity_reason": s.identity_reason,
        "unmapped": dict(s.unmapped), "ttl_minutes": s.ttl_minutes, "warning": s.warning,
        "host_hold": iso(s.host_hold), "empty_runs": s.empty_runs,
        "report": [list(f) for f in s.report], "report_at": iso(s.report_at),
        "parser": s.parser,
        "websub": None if s.websub is None else {
            "hub": s.websub.hub, "topic": s.websub.topic, "secret": s.websub.secret,
            "status": s.websub.status, "requested": iso(s.websub.requested),
            "expires": iso(s.websub.expires)},
    }


def state_from_dict(d: dict[str, Any]) -> SourceState:
    return SourceState(
        source_id=d["source_id"], etag=d.get("etag"), last_modified=d.get("last_modified"),
        body_hash=d.get("body_hash"), last_attempt=from_iso(d.get("last_attempt")),
        last_success=from_iso(d.get("last_success")), http_status=d.get("http_status"),
        failures=int(d.get("failures") or 0), last_error=d.get("last_error"),
        next_check_at=from_iso(d.get("next_check_at")),
        feed=meta_from_dict(d["feed"]) if d.get("feed") else None,
        gone=bool(d.get("gone")), adopted_url=d.get("adopted_url"),
        adopted_from=d.get("adopted_from"), redirect_to=d.get("redirect_to"),
        redirect_seen=int(d.get("redirect_seen") or 0), identity=d.get("identity") or "guid",
        identity_reason=d.get("identity_reason"),
        unmapped={str(k): int(v) for k, v in (d.get("unmapped") or {}).items()},
        ttl_minutes=d.get("ttl_minutes"), warning=d.get("warning"),
        host_hold=from_iso(d.get("host_hold")), empty_runs=int(d.get("empty_runs") or 0),
        report=tuple((str(a), str(b), str(c)) for a, b, c in d.get("report") or ()),
        report_at=from_iso(d.get("report_at")), websub=_websub(d.get("websub")),
        parser=d.get("parser"))


def _websub(d: dict[str, Any] | None) -> WebSubState | None:
    if not d:
        return None
    return WebSubState(hub=d["hub"], topic=d["topic"], secret=d["secret"],
                       status=d.get("status") or "pending", requested=from_iso(d.get("requested")),
                       expires=from_iso(d.get("expires")))


def event_to_dict(e: SourceEvent) -> dict[str, Any]:
    return {"source_id": e.source_id, "kind": e.kind, "at": iso(e.at), "detail": e.detail}


def event_from_dict(d: dict[str, Any]) -> SourceEvent:
    at = from_iso(d["at"])
    if at is None:
        raise ValueError("event without a time")
    return SourceEvent(source_id=d["source_id"], kind=d["kind"], at=at,
                       detail=d.get("detail") or "")
