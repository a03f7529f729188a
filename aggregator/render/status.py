"""status.json: per-source health for operators and monitoring."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from aggregator.dates import iso
from aggregator.models import SourceEvent, SourceHealth


def render_status(health: Sequence[SourceHealth], websub: dict[str, Any] | None = None,
                  events: Sequence[SourceEvent] = ()) -> bytes:
    doc: dict[str, Any] = {"sources": [asdict(h) for h in health],
                           "events": [{"source": e.source_id, "kind": e.kind, "at": iso(e.at),
                                       "detail": e.detail} for e in events]}
    if websub is not None:
        doc["websub"] = websub
    return (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
