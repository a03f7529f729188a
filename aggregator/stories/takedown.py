"""Operators' removals: a takedown (`entries remove`) and a purge (`sources remove
--purge`), planned here from the entries concerned; the store writes the plan in one batch.

A takedown removes the entry and every merged copy of it, from every source, and leaves
tombstones dated retention.TAKEDOWN for their keys and links: retention never forgets
them and the planner never lets that link in again, from any feed. A purge removes one
source's entries; another source's copy of a purged story becomes the story's entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from aggregator.models import SourceEvent, StoredEntry
from aggregator.stories.retention import TAKEDOWN, takedown_link


@dataclass(frozen=True)
class Removal:
    removed: tuple[str, ...]  # entry keys
    kept: tuple[StoredEntry, ...] = ()  # copies promoted or re-pointed
    tombstones: dict[str, datetime] | None = None
    events: tuple[SourceEvent, ...] = ()


def plan_takedown(story: Sequence[StoredEntry], now: datetime) -> Removal:
    """``story``: the entry's primary and its copies."""
    links = {e.canonical_link for e in story if e.canonical_link}
    marks = {e.key: TAKEDOWN for e in story} | {takedown_link(x): TAKEDOWN for x in links}
    events = tuple(SourceEvent(e.source_id, "removed", now,  # the key only: status.atom is
                               f"entry {e.key} taken down by an operator")  # public
                   for e in story)
    return Removal(tuple(e.key for e in story), (), marks, events)


def plan_purge(source_id: str, own: Sequence[StoredEntry],
               copies: dict[str, list[StoredEntry]], now: datetime) -> Removal:
    """``own``: the source's entries; ``copies``: for each of its primaries, the other
    sources' copies (promoted: the oldest becomes the story's entry)."""
    kept: list[StoredEntry] = []
    for primary in own:
        others = sorted((c for c in copies.get(primary.key, ()) if c.source_id != source_id),
                        key=lambda e: (e.published, e.key))
        if not others:
            continue
        head, *rest = others
        kept.append(replace(head, duplicate_of=None, merge_reason=None,
                            categories=head.own_categories or head.categories,
                            via=tuple(sorted({e.link for e in rest
                                              if e.link and e.link != head.link})),
                            copied_by=tuple(sorted({e.source_id for e in rest}))))
        kept += [replace(e, duplicate_of=head.key) for e in rest]
    event = SourceEvent(source_id, "purged", now, f"{len(own)} entries removed by an "
                        "operator (sources remove --purge)")
    return Removal(tuple(e.key for e in own), tuple(kept), None, (event,))
