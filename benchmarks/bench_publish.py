"""Publishing after a cycle that stored nothing (every source answered 304).

    .venv/bin/python benchmarks/bench_publish.py [SIZES...]   (default: 1000 20000 75000)

For each size, a look-alike network of that many entries is stored, published once, then
published again with no entry changed: "before" renders every output again (what publish
did until the store's revision told it nothing changed), "after" renders the status outputs
only. Both write only files whose bytes differ, so the difference is rendering time.
"""

from __future__ import annotations

import platform
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

import bench_stories  # noqa: E402

from aggregator import Aggregator  # noqa: E402
from aggregator.config import Settings, SourceSettings, load_settings  # noqa: E402
from aggregator.models import SourceHealth  # noqa: E402
from aggregator.publish import publish  # noqa: E402
from aggregator.store.memory import MemoryStore  # noqa: E402


def timed(settings: Settings, store: MemoryStore, health: list[SourceHealth],
          entries_changed: bool) -> float:
    start = time.perf_counter()
    publish(settings, store, health, entries_changed=entries_changed)
    return time.perf_counter() - start


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 20000, 75000]
    print(f"python {platform.python_version()} on {platform.machine()}")
    print(f"{'stored':>8} {'first s':>8} {'before s':>9} {'after s':>8} {'ratio':>7}")
    for size in sizes:
        store = MemoryStore()
        cands, kinds = bench_stories.candidates(size, "", 1)
        bench_stories.planned(store, cands, kinds)
        with tempfile.TemporaryDirectory() as tmp:
            base = load_settings(ROOT / "config.yaml")
            sources = tuple(SourceSettings(id=s, name=s, kind=k, url=f"https://{s}.example/")
                            for s, k in kinds.items())
            settings = replace(base, output=replace(base.output, dir=Path(tmp)),
                               sources=sources)
            agg = Aggregator(settings, store=store, parse_processes=0)
            health = agg.status()
            first = timed(settings, store, health, True)
            before = timed(settings, store, health, True)
            after = timed(settings, store, health, False)
            agg.close()
        print(f"{len(store.entries(include_duplicates=True)):>8} {first:>8.2f} "
              f"{before:>9.2f} {after:>8.3f} {before / after:>6.0f}x")


if __name__ == "__main__":
    main()
