"""Byte-for-byte digests of every output `poll` writes, on the shipped config and on the
real-feed corpus, under a fixed clock: the golden that keeps moves of code honest.

    .venv/bin/python tests/golden_outputs.py     # rewrite tests/data/golden_outputs.json

Review the diff before committing it: a changed digest is a changed output.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import EXAMPLES, ROOT, FeedServer
from support.corpus import poll_corpus

from aggregator import Aggregator
from aggregator.config import load_settings

GOLDEN = Path(__file__).resolve().parent / "data" / "golden_outputs.json"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CORPUS_PORT = 47731  # fixed: entry ids hash their links, and the links hold the port
# not byte-stable run to run whatever the code: the settings' hash (it holds the tmp path)
# and the Pagefind binary's index (hashed names too): only the shards' folders are compared
UNSTABLE = (".build-id", "pagefind/")


def clock() -> datetime:
    return NOW


def digests(out_dir: Path) -> dict[str, str]:
    """sha256 of each output file ("-" for UNSTABLE files, pagefind's by shard folder)."""
    found = {}
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file()):
        name = str(path.relative_to(out_dir))
        if name.startswith(UNSTABLE):
            found["/".join(name.split("/")[:2])] = "-"
        else:
            found[name] = hashlib.sha256(stable(name, path.read_bytes())).hexdigest()
    return found


def stable(name: str, data: bytes) -> bytes:
    """status.json without its cycle timings (wall time, different every run)."""
    if name != "status.json":
        return data
    doc = json.loads(data)
    doc.pop("timings", None)
    return (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def shipped(tmp: Path) -> dict[str, str]:
    shutil.copytree(EXAMPLES, tmp / "examples")
    shutil.copy(ROOT / "config.yaml", tmp / "config.yaml")
    agg = Aggregator(load_settings(tmp / "config.yaml"), clock=clock, parse_processes=1)
    agg.update()
    agg.publish()
    agg.close()
    return digests(tmp / "feeds")


def corpus(tmp: Path) -> dict[str, str]:
    server = FeedServer(CORPUS_PORT)
    try:
        poll_corpus(tmp, server, clock).close()
        return digests(tmp / "feeds")
    finally:
        server.close()


def observe(tmp: Path) -> dict[str, dict[str, str]]:
    (tmp / "shipped").mkdir()
    (tmp / "corpus").mkdir()
    return {"shipped": shipped(tmp / "shipped"), "corpus": corpus(tmp / "corpus")}


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        data = observe(Path(tmp))
    GOLDEN.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print({k: len(v) for k, v in data.items()}, "->", GOLDEN)
