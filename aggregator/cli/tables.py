"""The operator's terminal tables: `status` in 100 columns, or every detail with --wide."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aggregator.models import SourceHealth

WIDTH = 100


def local(value: str | None, wide: bool) -> str:
    """An ISO time from the store in this machine's zone (the zone is named in the header)."""
    if not value:
        return "-"
    when = datetime.fromisoformat(value).astimezone()
    return when.strftime("%Y-%m-%d %H:%M:%S" if wide else "%m-%d %H:%M")


def zone() -> str:
    now = datetime.now().astimezone()
    return f"{now.tzname()} (UTC{now.strftime('%z')[:3]}:{now.strftime('%z')[3:]})"


def notes(h: SourceHealth, wide: bool) -> str:
    parts = []
    if h.held_until:
        parts.append(f"held by host until {local(h.held_until, wide)}")
    if h.adopted_url:
        parts.append(f"moved to {h.adopted_url}")
    if h.silent_since:
        parts.append(f"silent: nothing new since {local(h.silent_since, wide)}")
    if h.warning:
        parts.append(f"warning: {h.warning}")
    if h.last_error:
        parts.append(h.last_error)
    return "; ".join(parts)


MIN_NOTES = 30  # narrower than this, notes go on their own line instead of being cut


def status_table(health: Sequence[SourceHealth], wide: bool = False) -> list[str]:
    """Rows of `aggregator status`; narrow ones fit WIDTH columns, cutting the notes."""
    header = ["SOURCE", "STATE", "LAST SUCCESS", "NEXT CHECK", "HTTP", "FAILS", "ENTRIES",
              "MERGED", "NOTES"]
    if wide:
        header.insert(2, "LAST ATTEMPT")
    rows = []
    for h in health:
        row = [h.id, h.state, local(h.last_success, wide), local(h.next_check, wide),
               str(h.http_status or "-"), str(h.failures), str(h.entries), str(h.merged),
               notes(h, wide)]
        if wide:
            row.insert(2, local(h.last_attempt, wide))
        rows.append(row)
    if not wide:
        rows = [[_cut(r[0], 22), *r[1:]] for r in rows]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = [f"times in {zone()}"]
    room = WIDTH - sum(widths) - 2 * len(widths)  # what a row leaves for its notes
    for row in [header, *rows]:
        fixed = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False))
        if wide or len(row[-1]) <= max(room, 0):
            lines.append((fixed + "  " + row[-1]).rstrip())
        elif room >= MIN_NOTES:
            lines.append(_cut(fixed + "  " + row[-1], WIDTH))
        else:  # too little room to read: the notes on a line of their own
            lines.append(fixed.rstrip())
            lines.append(_cut(f"    {row[-1]}", WIDTH))
    return lines


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"
