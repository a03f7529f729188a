"""Rewrite tests/data/real/golden.json from the current behaviour. Review the diff!

    .venv/bin/python tests/make_golden.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import FeedServer
from support.corpus import GOLDEN, observed, poll_corpus

if __name__ == "__main__":
    server = FeedServer()
    with tempfile.TemporaryDirectory() as tmp:
        agg = poll_corpus(Path(tmp), server)
        data = observed(agg, server.base)
        agg.close()
    server.close()
    GOLDEN.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                      encoding="utf-8")
    print(f"{len(data)} files -> {GOLDEN}")
