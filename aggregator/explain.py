"""Why an entry is where it is: its identity, its story (merged with which entries, why),
and how it was categorized. Used by `aggregator explain ENTRY`."""

from __future__ import annotations

from typing import Any

from aggregator.config import Settings
from aggregator.config.rules import rules_for
from aggregator.config.taxonomy import Taxonomy
from aggregator.errors import NotFound
from aggregator.models import EntryData, StoredEntry
from aggregator.store import Store
from aggregator.stories.identity import canonical_url


def find_entry(store: Store, ref: str) -> StoredEntry:
    """An entry by key, by published id, or by link (any spelling of it)."""
    found = store.get(ref)
    if found is not None:
        return found
    every = store.entries(include_duplicates=True)
    by_id = [e for e in every if e.entry_id == ref]
    if by_id:
        return by_id[0]
    same_link = store.by_canonical(canonical_url(ref) or "")
    if same_link:
        return next((e for e in same_link if e.duplicate_of is None), same_link[0])
    raise NotFound(ref, f"no stored entry matches {ref!r} (give a key, an entry id or a link)")


def explain(settings: Settings, store: Store, ref: str) -> dict[str, Any]:
    try:
        entry = find_entry(store, ref)
    except NotFound:
        left_out = blocked_entry(store, ref)
        if left_out is None:
            raise
        return left_out
    taxonomy = Taxonomy(settings.categories)
    source = settings.source(entry.source_id)
    data = EntryData(guid=entry.guid, link=entry.link, title=entry.title,
                     summary=entry.summary, content=entry.content,
                     raw_categories=entry.raw_categories)
    primary = store.get(entry.duplicate_of) if entry.duplicate_of else entry
    assert primary is not None
    members = [primary, *store.copies_of(primary.key)]
    return {
        "key": entry.key, "id": entry.entry_id, "title": entry.title, "link": entry.link,
        "source": entry.source_id, "kind": source.kind, "guid": entry.guid,
        "published": entry.published.isoformat(),
        "dated_by": "first seen (no usable date)" if entry.published == entry.first_seen
        else "the feed", "language": entry.language,
        "story": {"primary": primary.key, "rule": "earliest published; a member before a "
                  "partner on a tie",
                  "members": [{"key": m.key, "source": m.source_id,
                               "published": m.published.isoformat(),
                               "reason": m.merge_reason or "primary"} for m in members]},
        "categories": list(entry.categories),
        "own_categories": [{"category": cid, "why": why}
                           for cid, why in taxonomy.explain(data, source)],
        "raw_categories": list(entry.raw_categories),
        "rules": rules_for(settings, source).verdict(data)[1],
    }


def blocked_entry(store: Store, ref: str) -> dict[str, Any] | None:
    """An entry a keep or block rule left out at its source's last poll (not stored)."""
    wanted = {ref, canonical_url(ref) or ref}
    for source_id, state in sorted(store.source_states().items()):
        for what, why in state.blocked:
            if what in wanted or (canonical_url(what) or what) in wanted:
                return {"key": None, "left_out": what, "source": source_id, "rules": why}
    return None


def as_text(info: dict[str, Any]) -> str:
    if info.get("key") is None:
        return (f"entry      {info['left_out']}\nsource     {info['source']}\n"
                f"not stored {info['rules']} (at the source's last poll)")
    lines = [f"entry      {info['key']}  ({info['id']})", f"title      {info['title']}",
             f"link       {info['link'] or '-'}",
             f"source     {info['source']} ({info['kind']}), guid {info['guid']!r}",
             f"published  {info['published']} (dated by {info['dated_by']})",
             f"language   {info['language']}"]
    story = info["story"]
    lines.append(f"story      primary {story['primary']} ({story['rule']})")
    lines += [f"           - {m['key']} ({m['source']}, {m['published']}): {m['reason']}"
              for m in story["members"]]
    lines.append(f"categories {', '.join(info['categories'])}")
    lines += [f"           - {c['category']}: {c['why']}" for c in info["own_categories"]]
    if info["raw_categories"]:
        lines.append(f"raw words  {', '.join(info['raw_categories'])}")
    lines.append(f"rules      {info['rules']}")
    return "\n".join(lines)
