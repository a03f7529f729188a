"""The update path's per-entry budget: where a poll's CPU goes, stage by stage.

    .venv/bin/python benchmarks/bench_update.py [--feeds 200]

The vs_reader network (feed_network.py) served from 127.0.0.1, polled in this process by the
aggregator's own cycle (`Aggregator.update`, documents parsed inline, the default TinyDB
store in a temporary folder, the caps raised as vs_reader raises them), cold then with 10 %
of the feeds mutated. Each stage's CPU time is taken on the thread that runs it
(time.thread_time), so fetch threads and the writer thread are counted apart:

- parse: a document to entries (the fast path or feedparser; parse/pool.py);
- ingest rest: the rest of ingesting a source on its fetch thread (the HTTP exchange,
  normalizing, classifying, rules);
- plan: story resolution (stories/plan.py), on the writer thread;
- store: ``Store.apply`` (indexes, shards and rows files written), on the writer thread.

Prints per stage the seconds and microseconds per entry read, the update's wall time and
the peak RSS of this process after the update (publishing is not run).
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import feed_network  # noqa: E402
import vs_reader  # noqa: E402

from aggregator import Aggregator  # noqa: E402
from aggregator.config import load_settings  # noqa: E402
from aggregator.ingest.parse.pool import ParsePool  # noqa: E402
from aggregator.run import cycle, outcomes  # noqa: E402
from aggregator.store.tinydb import TinyDBStore  # noqa: E402

SPENT: dict[str, float] = defaultdict(float)
READ = {"entries": 0}


def timed(stage: str, work: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kw: Any) -> Any:
        start = time.thread_time()
        try:
            return work(*args, **kw)
        finally:
            SPENT[stage] += time.thread_time() - start
    return run


def instrument() -> None:
    parse = ParsePool.parse

    def parse_counted(self: ParsePool, *args: Any) -> Any:
        parsed = parse(self, *args)
        READ["entries"] += len(parsed.entries)
        return parsed

    ParsePool.parse = timed("parse", parse_counted)  # type: ignore[method-assign]
    cycle.ingest = timed("ingest", cycle.ingest)  # type: ignore[attr-defined]
    outcomes.stories.plan = timed("plan", outcomes.stories.plan)  # type: ignore[attr-defined]
    TinyDBStore.apply = timed("store", TinyDBStore.apply)  # type: ignore[method-assign]


def one_round(config: Path, name: str) -> None:
    SPENT.clear()
    READ["entries"] = 0
    cpu = time.process_time()
    start = time.perf_counter()
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        report = agg.update()
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu
        stored = agg.store.count(None, None)
    new = sum(r.new for r in report.results)
    n = max(1, READ["entries"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{name}: {READ['entries']} entries read, {new} new, {stored} shown; update wall "
          f"{wall:.2f} s, CPU {cpu:.2f} s ({cpu / n * 1e6:.0f} µs/entry); peak RSS so far "
          f"{peak:.0f} MB")
    rest = SPENT["ingest"] - SPENT["parse"]
    stages = {"parse": SPENT["parse"], "ingest rest": rest, "plan": SPENT["plan"],
              "store": SPENT["store"]}
    for stage, seconds in stages.items():
        print(f"  {stage:<12} {seconds:7.2f} s {seconds / n * 1e6:8.0f} µs/entry")
    other = cpu - sum(stages.values())
    print(f"  {'other':<12} {other:7.2f} s {other / n * 1e6:8.0f} µs/entry (scheduling, "
          "the writer's loop, threads)")


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("--feeds", type=int, default=200)
    opts = args.parse_args()
    network = feed_network.Network(opts.feeds)
    server = feed_network.serve(network)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    instrument()
    print(f"{opts.feeds} feeds; python {platform.python_version()}, "
          f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores")
    with tempfile.TemporaryDirectory() as tmp:
        urls = [f"{base}feeds/{name}" for name in sorted(network.feeds)]
        config = vs_reader.aggregator_config(Path(tmp), urls)
        one_round(config, "cold")
        vs_reader.post(base, "_mutate")
        one_round(config, "mutated (10 % of the feeds)")
    server.shutdown()


if __name__ == "__main__":
    main()
