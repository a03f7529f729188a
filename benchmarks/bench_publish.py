"""Publishing after a cycle: nothing changed, and one source changed.

    .venv/bin/python benchmarks/bench_publish.py [SIZES...]   (default: 1000 20000 75000)

For each size, a look-alike network of that many entries is stored and published once.
Then two cycles, each published twice side by side on the same store: "before" renders
every output (what publish did until dirty markers), "after" renders what the store's
dirty markers touch. Cycle 1: no entry changed (every source answered 304). Cycle 2: one
source changed 10 entries. Both write only files whose bytes differ, so the difference is
rendering time.
"""

from __future__ import annotations

import platform
import sys
import tempfile
import time
import zlib
from dataclasses import replace
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

import bench_stories  # noqa: E402

from aggregator import Aggregator  # noqa: E402
from aggregator.config import Settings, SourceSettings, load_settings  # noqa: E402
from aggregator.config.taxonomy import Taxonomy  # noqa: E402
from aggregator.models import Dirty, SourceHealth, StoredEntry  # noqa: E402
from aggregator.publish.feeds import publish  # noqa: E402
from aggregator.publish.plan import RenderPlan  # noqa: E402
from aggregator.publish.sink import DirectorySink  # noqa: E402
from aggregator.store.memory import MemoryStore  # noqa: E402


def timed(settings: Settings, store: MemoryStore, health: list[SourceHealth],
          dirty: Dirty | None, rendered: dict[str, object] | None = None) -> float:
    start = time.perf_counter()
    sink = DirectorySink(settings.output.dir)
    plan = RenderPlan(dirty, settings.hub.language, lambda name: sink.exists(PurePosixPath(name)))
    publish(settings, store, health, sink, plan=plan, rendered=rendered)
    return time.perf_counter() - start


def spread_over_categories(store: MemoryStore) -> None:
    """Each source's entries in two of the shipped categories, as a member's desk writes
    about a few topics (the network generator files everything under one)."""
    ids = Taxonomy(load_settings(ROOT / "config.yaml").categories).ids

    def category(e: StoredEntry) -> str:
        return ids[(zlib.crc32(e.source_id.encode()) + zlib.crc32(e.key.encode()) % 2)
                   % len(ids)]
    store.apply([replace(e, categories=(category(e),))
                 for e in store.entries(include_duplicates=True)], [])


def change_one_source(store: MemoryStore) -> Dirty:
    source = next(iter(store.count_by_source()))
    changed = [replace(e, title=e.title + " (updated)")
               for e in store.entries(source_id=source)[:10]]
    store.clear_dirty(store.dirty())
    store.apply(changed, [])
    return store.dirty()


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 20000, 75000]
    print(f"python {platform.python_version()} on {platform.machine()}")
    print(f"{'stored':>8} {'first s':>8} | {'no change: before s':>19} {'after s':>8} | "
          f"{'one source: before s':>20} {'after s':>8}")
    for size in sizes:
        store = MemoryStore()
        cands, kinds = bench_stories.candidates(size, "", 1)
        bench_stories.planned(store, cands, kinds)
        spread_over_categories(store)
        with tempfile.TemporaryDirectory() as tmp:
            base = load_settings(ROOT / "config.yaml")
            sources = tuple(SourceSettings(id=s, name=s, kind=k, url=f"https://{s}.example/")
                            for s, k in kinds.items())
            settings = replace(base, output=replace(base.output, dir=Path(tmp)),
                               sources=sources)
            agg = Aggregator(settings, store=store, parse_processes=0)
            health = agg.status()
            memo: dict[str, object] = {}  # what the service keeps between publishes
            first = timed(settings, store, health, None, memo)
            still = (timed(settings, store, health, None),
                     timed(settings, store, health, Dirty(), memo))
            dirty = change_one_source(store)
            one = timed(settings, store, health, None), timed(settings, store, health, dirty, memo)
            agg.close()
        print(f"{len(store.entries(include_duplicates=True)):>8} {first:>8.2f} | "
              f"{still[0]:>19.2f} {still[1]:>8.3f} | {one[0]:>20.2f} {one[1]:>8.3f}")


if __name__ == "__main__":
    main()
