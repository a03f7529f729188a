"""Feed readers side by side on the documents of the benchmark network (feed_network.py).

    .venv/bin/python benchmarks/bench_readers.py [--feeds 200]

In one process, each over the same bodies, best of 3:
- lxml strict parse only (the fast path's gate: the floor of any lxml-based reader);
- fastfeedparser (when installed: pip install -e '.[bench]'), its dicts only;
- feedparser, its dicts only;
- the aggregator's feedparser path (parse.parse_feed: feedparser + the normalizer);
- the aggregator's fast path (fastparse.read_feed: gate + reader + the normalizer), with
  how many documents it took and how many it sent to feedparser.
MB/s is of the (uncompressed) bodies; ratios are against the feedparser path.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import feedparser
from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))

import feed_network

from aggregator.ingest.parse.fast_path import FAST, read_feed
from aggregator.ingest.parse.feedparser_path import parse_feed

URL = "http://127.0.0.1/feeds/x"


def best_of(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("--feeds", type=int, default=200)
    opts = args.parse_args()
    network = feed_network.Network(opts.feeds)
    bodies = [network.bodies[name] for name in sorted(network.feeds)]
    size = sum(map(len, bodies)) / 2**20
    strict = etree.XMLParser(recover=False, resolve_entities=False, no_network=True)
    contestants: dict[str, Callable[[], object]] = {
        "lxml strict parse": lambda: [etree.fromstring(b, strict) for b in bodies],
        "feedparser (dicts)": lambda: [feedparser.parse(io.BytesIO(b), sanitize_html=False)
                                       for b in bodies],
        "feedparser path": lambda: [parse_feed(b, URL) for b in bodies],
        "fast path": lambda: [read_feed(b, URL) for b in bodies],
    }
    if importlib.util.find_spec("fastfeedparser") is not None:
        import fastfeedparser

        contestants["fastfeedparser (dicts)"] = lambda: [fastfeedparser.parse(b)
                                                         for b in bodies]
    taken = Counter(read_feed(b, URL).parser == FAST for b in bodies)
    print(f"{len(bodies)} documents, {size:.1f} MB; fast path took {taken[True]}, "
          f"feedparser {taken[False]}")
    reference = best_of(3, contestants["feedparser path"])
    for name, work in contestants.items():
        seconds = best_of(3, work)
        print(f"{name:<24} {seconds:7.3f} s {size / seconds:7.1f} MB/s "
              f"{reference / seconds:6.1f}x the feedparser path")


if __name__ == "__main__":
    main()
