"""status and status.atom as operators read them (issue 28): no "re-enabled" for a source
that never stopped, a "disabled" event, no next check for a disabled source."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import EXAMPLES, write_config
from test_cli import cli


def hub(tmp_path: Path) -> Path:
    for name in ("durban-member-rss1.xml", "sousse-member-rss2.xml"):
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    return write_config(tmp_path, [{"id": "durban", "kind": "member",
                                     "path": "durban-member-rss1.xml"},
                                    {"id": "sousse", "kind": "member",
                                     "path": "sousse-member-rss2.xml"}])


def test_enable_disable_events_and_next_checks(tmp_path: Path) -> None:
    config = hub(tmp_path)
    assert cli("poll", "--config", str(config)).returncode == 0
    atom = tmp_path / "feeds" / "status.atom"
    enabled = cli("sources", "enable", "durban", "--config", str(config))  # never stopped
    assert enabled.returncode == 0, enabled.stderr
    assert "was re-enabled" not in atom.read_text()
    disabled = cli("sources", "disable", "sousse", "--config", str(config))
    assert disabled.returncode == 0, disabled.stderr
    assert "was disabled" in atom.read_text() and "disabled by an operator" in atom.read_text()
    status = {s["id"]: s for s in json.loads(cli("status", "--json", "--config",
                                                 str(config)).stdout)}
    assert status["sousse"]["state"] == "disabled" and status["sousse"]["next_check"] is None
    assert status["durban"]["next_check"] is not None or status["durban"]["state"] == "active"
    again = cli("sources", "enable", "sousse", "--config", str(config))
    assert again.returncode == 0
    assert atom.read_text().count("was re-enabled") == 1  # it had been disabled


def test_a_direct_poll_prints_lines_and_a_total(tmp_path: Path) -> None:
    config = hub(tmp_path)
    polled = cli("poll", "--config", str(config)).stdout.splitlines()
    assert polled[-1].startswith("total: 2 sources, ") and polled[0].startswith("durban")
