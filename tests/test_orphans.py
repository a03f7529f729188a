"""What a writer killed mid-publish leaves (issue 29) is removed at the next start: hidden
temp files among the outputs and the search index's staging folder in memory."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from conftest import write_config

from aggregator import Aggregator
from aggregator.config import load_settings
from aggregator.files import pid_alive
from aggregator.publish.search import STAGING, _scratch


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(done.stdout)
    assert not pid_alive(pid)
    return pid


def test_orphans_of_a_killed_writer_are_removed_at_the_next_start(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    out = tmp_path / "feeds"
    (out / "source").mkdir(parents=True)
    (out / "pagefind" / "2026-03-p1").mkdir(parents=True)
    pid = dead_pid()
    orphans = [out / f".sources.html.{pid}.tmp", out / "source" / f".city.html.{pid}.tmp",
               out / "pagefind" / f".shards.json.{pid}.tmp"]
    # a shard of the index is built beside and swapped in whole: not walked (it is big)
    in_shard = out / "pagefind" / "2026-03-p1" / f".x.{pid}.tmp"
    in_shard.write_bytes(b"not ours")
    live = out / f".all.atom.{os.getpid()}.tmp"  # a writer of this process: not touched
    for path in (*orphans, live):
        path.write_bytes(b"half a page")
    kept = out / "notes.tmp"  # not a name atomic_write gives
    kept.write_text("mine")
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING}{pid}-", dir=_scratch()))
    (staging / "records").mkdir()
    (staging / "records" / "0.html").write_text("<p>record</p>")
    try:
        with Aggregator(load_settings(config), parse_processes=0):
            pass
        assert [p.exists() for p in orphans] == [False, False, False]
        assert live.exists() and kept.exists() and in_shard.exists()
        assert not staging.exists()
    finally:
        live.unlink(missing_ok=True)
        if staging.exists():
            import shutil
            shutil.rmtree(staging)


def test_a_reader_removes_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    out = tmp_path / "feeds"
    out.mkdir()
    orphan = out / f".sources.html.{dead_pid()}.tmp"
    orphan.write_bytes(b"x")
    with Aggregator(load_settings(config), readonly=True, parse_processes=0):
        pass
    assert orphan.exists()
