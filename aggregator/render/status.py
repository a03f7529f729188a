"""status.json: per-source health for operators and monitoring."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from ..models import SourceHealth


def render_status(health: Sequence[SourceHealth]) -> bytes:
    doc = {"sources": [asdict(h) for h in health]}
    return (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
