"""Memory over many cycles with hostile answers: does the service grow, and why?

    .venv/bin/python benchmarks/soak_memory.py [CYCLES] [--as-before]   (default 120)

Six sources on a local server: three healthy feeds, one 9 MiB body that is not a feed, one
gzip bomb stopped at poll.max_bytes, one that fails with 500. Each cycle polls all of them
(validators cleared, so every body is read again) and publishes. Reported every 10 cycles:
the process's resident memory (RSS) and the Python heap (tracemalloc). --as-before turns off
what aggregator/heap.py does (two malloc arenas, malloc_trim after each cycle): a growing
RSS with a flat Python heap is the allocator keeping freed pages, not a leak.
"""

from __future__ import annotations

import gzip
import sys
import tempfile
import tracemalloc
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import EXAMPLES, FeedServer, Response, write_config  # noqa: E402

from aggregator import Aggregator  # noqa: E402
from aggregator.config import load_settings  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def main() -> None:
    cycles = int(sys.argv[1]) if len(sys.argv) > 1 else 120
    trim = "--as-before" not in sys.argv
    if not trim:  # as before aggregator/heap.py: an arena per thread, freed pages kept
        import aggregator.core
        aggregator.core.give_back = lambda: None  # type: ignore[assignment]
        aggregator.core.limit_arenas = lambda: None  # type: ignore[assignment]
    server = FeedServer()
    feeds = sorted(EXAMPLES.glob("*.xml"))[:3]
    for i, f in enumerate(feeds):
        server.serve_file(f"/ok{i}", f)
    server.routes["/junk"] = Response(200, b"<html>" + b"x" * (9 * 2**20), {})
    server.routes["/bomb"] = Response(200, gzip.compress(b"\0" * (64 * 2**20)),
                                      {"Content-Encoding": "gzip"})
    server.routes["/err"] = Response(500, b"oops", {})
    paths = [f"/ok{i}" for i in range(len(feeds))] + ["/junk", "/bomb", "/err"]
    with tempfile.TemporaryDirectory() as tmp:
        sources = [{"id": p.strip("/"), "url": server.url(p), "kind": "member"} for p in paths]
        config = write_config(Path(tmp), sources)
        tracemalloc.start()
        with Aggregator(load_settings(config), parse_processes=2) as agg:
            print(f"{'cycle':>5} {'RSS MB':>8} {'py heap MB':>11}  (heap.py limits: {bool(trim)})")
            for cycle in range(1, cycles + 1):
                for state in agg.store.source_states().values():  # read every body again
                    agg.store.apply([], [replace(state, etag=None, last_modified=None,
                                                 body_hash=None, next_check_at=None)])
                agg.update()
                agg.publish()
                if cycle == 1 or cycle % 10 == 0:
                    heap = tracemalloc.get_traced_memory()[0] / 2**20
                    print(f"{cycle:>5} {rss_mb():>8.1f} {heap:>11.1f}")
    server.close()


if __name__ == "__main__":
    main()
