"""Log output: readable lines, or one JSON object per line (`--log-format json`).

A record about one source carries ``source_id`` (and any ``fields``) through ``extra=``:
the text format shows them in the message, the JSON format as their own keys.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage()}
        source = getattr(record, "source_id", None)
        if source is not None:
            doc["source"] = source
        fields = getattr(record, "fields", None)
        if fields:
            doc["fields"] = fields
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


def source(source_id: str, **fields: Any) -> dict[str, Any]:
    """``extra=`` for a record about one source."""
    return {"source_id": source_id, "fields": fields}


def formatter(kind: str) -> logging.Formatter:
    return JsonFormatter() if kind == "json" else logging.Formatter(TEXT)
