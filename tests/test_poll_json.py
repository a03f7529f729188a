"""`poll --json` (DESIGN.md, CLI; issues 25 and 26): the cycle as JSON with its phases'
wall times, kept in status.json and on /metrics."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import EXAMPLES, write_config
from test_cli import cli


def test_poll_json_reports_sources_totals_and_timings(tmp_path: Path) -> None:
    for name in ("durban-member-rss1.xml", "sousse-member-rss2.xml"):
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    config = write_config(tmp_path, [
        {"id": "durban", "kind": "member", "path": "durban-member-rss1.xml"},
        {"id": "sousse", "kind": "member", "path": "sousse-member-rss2.xml"}])
    polled = cli("poll", "--json", "--config", str(config))
    assert polled.returncode == 0, polled.stderr
    doc = json.loads(polled.stdout)
    assert set(doc) == {"sources", "totals", "timings"}
    assert [s["id"] for s in doc["sources"]] == ["durban", "sousse"]
    assert set(doc["sources"][0]) == {"id", "status", "new", "updated", "error"}
    assert doc["sources"][0]["status"] == "updated" and doc["sources"][0]["new"] == 3
    assert doc["totals"] == {"sources": 2, "new": sum(s["new"] for s in doc["sources"]),
                             "updated": 0, "failed": 0}
    timings = doc["timings"]
    assert set(timings) == {"update_s", "publish_s"}
    assert all(isinstance(v, float) and v > 0 for v in timings.values())
    again = json.loads(cli("poll", "--json", "--config", str(config)).stdout)
    assert again["totals"]["new"] == 0
    status = json.loads((tmp_path / "feeds" / "status.json").read_text())
    assert set(status["timings"]) == {"update_s"}  # its own publish is not over yet
    assert status["timings"]["update_s"] >= 0
