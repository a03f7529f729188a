"""status.json: per-source health for operators and monitoring."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

import orjson

from aggregator.dates import iso
from aggregator.models import SourceEvent, SourceHealth


def render_status(health: Sequence[SourceHealth], websub: dict[str, Any] | None = None,
                  events: Sequence[SourceEvent] = (),
                  timings: Mapping[str, float] | None = None) -> bytes:
    """``timings``: the last cycle's phases (update_s, and publish_s of the publish before
    this one: a document cannot time its own writing), as `poll --json` prints them."""
    doc: dict[str, Any] = {"sources": [{f: getattr(h, f) for f in _FIELDS} for h in health],
                           "events": [{"source": e.source_id, "kind": e.kind, "at": iso(e.at),
                                       "detail": e.detail} for e in events]}
    if websub is not None:
        doc["websub"] = websub
    if timings:
        doc["timings"] = {k: round(v, 3) for k, v in sorted(timings.items())}
    # orjson: the same bytes as json.dumps(indent=2, sort_keys=True, ensure_ascii=False),
    # a tenth of the time (the document lists every source, at every poll)
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


_FIELDS = tuple(f.name for f in fields(SourceHealth))  # flat: asdict's deep copy not needed
