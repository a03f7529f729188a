"""The shipped systemd units (docs/aggregator.service and the scale-out ones in
docs/scale-out/) pass `systemd-analyze verify`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

UNIT = ROOT / "docs" / "aggregator.service"


def verify(text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing: install Debian's systemd package (README)")
    unit = tmp_path / "aggregator.service"
    unit.write_text(text)
    return subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                          timeout=60)


def installed(text: str) -> str:
    """The unit as installed here: this checkout's venv, an account that exists."""
    venv_bin = Path(sys.executable).parent
    return (text.replace("/opt/aggregator/.venv/bin", str(venv_bin))
            .replace("User=aggregator", "User=daemon").replace("Group=aggregator",
                                                                "Group=daemon"))


def test_the_unit_verifies(tmp_path: Path) -> None:
    text = UNIT.read_text()
    assert "ExecReload=/bin/kill -HUP $MAINPID" in text and "KillSignal=SIGTERM" in text
    result = verify(installed(text), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # not even a warning


@pytest.mark.parametrize("name", ["worker", "scheduler", "serve"])
def test_the_scale_out_units_verify(name: str, tmp_path: Path) -> None:
    text = (ROOT / "docs" / "scale-out" / f"aggregator-{name}.service").read_text()
    assert f"aggregator {name}" in text and "AGGREGATOR_CONFIG=" in text
    result = verify(installed(text), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_a_broken_unit_does_not(tmp_path: Path) -> None:
    broken = installed(UNIT.read_text()).replace("ExecStart=/", "ExecStart=")
    assert verify(broken, tmp_path).returncode != 0
