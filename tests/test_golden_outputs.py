"""`poll` on the shipped config and on the real-feed corpus writes the very bytes it wrote
when tests/data/golden_outputs.json was made (tests/golden_outputs.py): moves of code keep
every output as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from golden_outputs import GOLDEN, observe


@pytest.mark.slow
def test_outputs_are_byte_identical_to_the_golden(tmp_path: Path) -> None:
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    found = observe(tmp_path)
    for run in ("shipped", "corpus"):
        assert sorted(found[run]) == sorted(expected[run]), f"{run}: other output names"
        changed = [name for name in expected[run] if found[run][name] != expected[run][name]]
        assert changed == [], f"{run}: {len(changed)} outputs changed, first {changed[:5]}"
