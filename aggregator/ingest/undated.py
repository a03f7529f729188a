"""Dates for undated entries on a source's first poll, from their place in the feed.

Document order is the publisher's order. On the first poll every entry is "first seen" at
the same moment, so dating undated entries by first-seen would put a member's whole backlog
on top of the river. Instead, an undated entry takes a date between its dated neighbours
(the entries above and below it that carry a plausible date), or just beyond the one it has
when it stands at an end of the feed. A feed with no plausible date at all keeps first-seen
(nothing says its entries are old), in document order. On later polls a new undated entry is
genuinely new and takes first-seen (stories/plan.py: _merge).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from aggregator.dates import plausible
from aggregator.models import EntryData

STEP = timedelta(minutes=1)  # spacing beyond the last dated neighbour at an end of the feed


def place_undated(entries: list[EntryData], now: datetime) -> list[datetime | None]:
    """For each entry, the date its place gives it when it has none (else None)."""
    dates = [plausible(e.published, now) or plausible(e.updated, now) for e in entries]
    known = [i for i, d in enumerate(dates) if d is not None]
    if not known:  # keep document order below first-seen, one second apart
        return [now - timedelta(seconds=i) for i in range(len(entries))]
    descending = dates[known[0]] >= dates[known[-1]]  # type: ignore[operator]
    return [None if d is not None else min(now, _between(i, dates, known, descending))
            for i, d in enumerate(dates)]


def _between(i: int, dates: list[datetime | None], known: list[int], descending: bool
             ) -> datetime:
    above = max((k for k in known if k < i), default=None)
    below = min((k for k in known if k > i), default=None)
    if above is not None and below is not None:
        a, b = dates[above], dates[below]
        assert a is not None and b is not None
        return a + (b - a) * ((i - above) / (below - above))
    # at an end: one step per position beyond the nearest dated entry, in the feed's order
    anchor = above if above is not None else below
    assert anchor is not None
    date = dates[anchor]
    assert date is not None
    later = (i < anchor) == descending  # above a newer-first feed's top means newer
    return date + STEP * abs(i - anchor) * (1 if later else -1)
