"""What ingesting one source produced: a frozen value, the only thing that leaves ``ingest``.

The schedule (schedule.next_state) turns it into the source's next state; the store turns
its candidates into entries (run/outcomes.py: apply_outcomes). Nothing else travels beside
it. Kept beside models.py rather than in it: it carries the planner's candidates
(stories/plan.py), and models.py, which every stage imports, imports no stage.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from aggregator.models import CycleReport, FeedMeta, Fetched, NotModified

if TYPE_CHECKING:
    from aggregator.stories.plan import Candidate


class ErrorKind(enum.Enum):
    FETCH = "fetch failed"  # network, HTTP status, guard, size or time limits
    PARSE = "parse failed"  # the document could not be read as a feed
    INTERNAL = "internal error"  # a bug: logged with its traceback, the cycle goes on


@dataclass(frozen=True)
class SourceError:
    kind: ErrorKind
    message: str

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.message}"


@dataclass(frozen=True)
class SourceOutcome:
    source_id: str
    result: Fetched | NotModified | None = None  # None: an error, or not polled (deferred)
    feed: FeedMeta | None = None  # the parsed document's own metadata
    ttl_minutes: int | None = None  # RSS <ttl> of the parsed document
    error: SourceError | None = None
    status: int | None = None  # HTTP status (None: a local file, or no answer)
    retry_after: float | None = None  # seconds, from Retry-After
    deferred_until: datetime | None = None  # not polled: its host asked us to wait
    polled_url: str | None = None
    candidates: tuple[Candidate, ...] = ()
    identity_reason: str | None = None  # ids found broken now: identify entries by link
    unmapped: Mapping[str, int] = field(default_factory=dict)  # category words mapped nowhere
    blocked: tuple[tuple[str, str], ...] = ()  # (link or title, why): left out by a rule
    entries_read: int = 0  # entries in the document (before the age cut-off)
    format: str | None = None  # of the parsed document
    parser: str | None = None  # which reader read it (ParsedFeed.parser)
    report: tuple[tuple[str, str, str], ...] = ()  # how the hub reads it (ingest/report.py)
    fetch_seconds: float | None = None
    parse_seconds: float | None = None

    @property
    def parsed(self) -> bool:
        return self.feed is not None


def report_lines(report: CycleReport) -> list[str]:
    """`poll`'s lines, one per source and a total: the same whoever ran the cycle."""
    width = max((len(r.source_id) for r in report.results), default=0)
    lines = []
    for r in report.results:
        if r.outcome == "error":
            detail = r.error or "failed"
        elif r.outcome == "not_modified":
            detail = "not modified"
        elif r.outcome == "deferred":
            detail = r.error or "deferred"
        else:
            detail = f"{r.new} new, {r.changed} updated"
        lines.append(f"{r.source_id:<{width}}  {r.outcome:<12}  {detail}".rstrip())
    lines.append(f"total: {len(report.results)} sources, {report.new} new, "
                 f"{report.updated} updated, {report.failed} failed")
    return lines


def cycle_json(report: CycleReport, timings: Mapping[str, float]) -> dict[str, object]:
    """`poll --json` (DESIGN.md, CLI): the sources, the totals and the phases' wall times."""
    return {
        "sources": [{"id": r.source_id, "status": r.outcome, "new": r.new,
                     "updated": r.changed, "error": r.error} for r in report.results],
        "totals": {"sources": len(report.results), "new": report.new,
                   "updated": report.updated, "failed": report.failed},
        "timings": {"update_s": round(timings.get("update_s", 0.0), 3),
                    "publish_s": round(timings.get("publish_s", 0.0), 3)},
    }
