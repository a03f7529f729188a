"""Feed history (RFC 5005, section 4 "Archived Feeds"): the current document holds the newest
``entries_per_feed`` entries; older ones go to archive documents of that many entries each,
linked with prev-archive / next-archive / current and marked fh:archive.

Entries are paged in the order they arrived (first seen, then published, then key): a new
entry only ever lands in the current document or the newest archive page, so a full page's
set of entries never changes. A full page that is no longer the newest (so its next-archive
link is known) is written once, in that final form, in the same build that writes its
successor; from then on the successor's file on disk says it is sealed, and it is neither
rendered nor written again (publish/feeds.py): its bytes never change, and subscribers and caches
can keep it forever. Known limit: retention pruning removes entries
from the arrival order, which shifts later pages; frozen pages keep what they had.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Generic, overload

from aggregator.render import FeedSpec
from aggregator.stories.order import L, in_arrival_order, sorted_newest_first


@dataclass(frozen=True)
class Page(Generic[L]):
    spec: FeedSpec
    arrived: tuple[L, ...]  # in arrival order (or their rows: publish/feeds.py)
    frozen: bool  # full, and no longer the newest page: its final form is known
    successor: str | None = None  # file name of the next (newer) archive page

    @cached_property
    def entries(self) -> tuple[L, ...]:
        """Newest first, as the document lists them (sorted only for a page rendered: a
        sealed page is not)."""
        return sorted_newest_first(self.arrived)


class Chunks(Sequence[list[L]]):
    """The older arrivals in chunks of ``size``, oldest first, each sliced when asked: a
    feed of every entry has 1,600 of them at 80,000 entries, and a small publish looks at
    the newest one or two."""

    def __init__(self, older: list[L], size: int) -> None:
        self._older, self._size = older, size

    def __len__(self) -> int:
        return -(-len(self._older) // self._size)

    def full(self, i: int) -> bool:
        """Whether chunk ``i`` holds ``size`` entries (only the newest may not)."""
        return (i + 1) * self._size <= len(self._older)

    @overload
    def __getitem__(self, i: int) -> list[L]: ...

    @overload
    def __getitem__(self, i: slice) -> list[list[L]]: ...

    def __getitem__(self, i: int | slice) -> list[L] | list[list[L]]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._older[i * self._size:(i + 1) * self._size]


def by_arrival(entries: list[L], size: int) -> tuple[list[L], Chunks[L]]:
    """The newest ``size`` arrivals, and the older ones in chunks of ``size`` (oldest first;
    only the newest chunk can be short). The feeds and the site's rivers page this way."""
    arrived = in_arrival_order(entries)
    current, older = arrived[-size:], arrived[:-size] if len(arrived) > size else []
    return current, Chunks(older, size)


def paginate(spec: FeedSpec, entries: list[L], size: int, base_url: str,
             sealed: Callable[[str, str], bool] = lambda page, successor: False
             ) -> tuple[Page[L], list[Page[L]]]:
    """The current document and the archive pages (oldest first) of one feed; a frozen
    page that ``sealed(page, successor)`` says is sealed (both on disk) is left out (its
    bytes never change: at 80,000 entries, a feed of every entry has 1,600 pages, and a
    small publish renders the newest one or two)."""
    current, chunks = by_arrival(entries, size)
    urls = [f"{base_url}archive/{spec.name}/{k}.atom" for k in range(1, len(chunks) + 1)]
    pages = []
    for k in range(1, len(chunks) + 1):
        if chunks.full(k - 1) and k < len(chunks) and sealed(
                f"archive/{spec.name}/{k}.atom", f"archive/{spec.name}/{k + 1}.atom"):
            continue
        chunk = chunks[k - 1]
        links = [("current", spec.self_url)]
        if k > 1:
            links.append(("prev-archive", urls[k - 2]))
        if k < len(chunks):
            links.append(("next-archive", urls[k]))
        page_spec = replace(spec, name=f"archive/{spec.name}/{k}", self_url=urls[k - 1],
                            feed_id=spec.feed_id, history=tuple(links), archive=True,
                            title=f"{spec.title} (archive {k})")
        # frozen once full and no longer the newest page: its next-archive link exists
        pages.append(Page(page_spec, tuple(chunk),
                          len(chunk) == size and k < len(chunks),
                          f"archive/{spec.name}/{k + 1}.atom" if k < len(chunks) else None))
    head = replace(spec, history=(("prev-archive", urls[-1]),) if urls else ())
    return Page(head, tuple(current), False), pages
