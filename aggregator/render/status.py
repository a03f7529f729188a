"""status.json: per-source health for operators and monitoring."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from aggregator.dates import iso
from aggregator.models import SourceEvent, SourceHealth


def render_status(health: Sequence[SourceHealth], websub: dict[str, Any] | None = None,
                  events: Sequence[SourceEvent] = (),
                  timings: Mapping[str, float] | None = None) -> bytes:
    """``timings``: the last cycle's phases (update_s, and publish_s of the publish before
    this one: a document cannot time its own writing), as `poll --json` prints them."""
    doc: dict[str, Any] = {"sources": [asdict(h) for h in health],
                           "events": [{"source": e.source_id, "kind": e.kind, "at": iso(e.at),
                                       "detail": e.detail} for e in events]}
    if websub is not None:
        doc["websub"] = websub
    if timings:
        doc["timings"] = {k: round(v, 3) for k, v in sorted(timings.items())}
    return (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
