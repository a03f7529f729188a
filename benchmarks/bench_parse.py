"""Parsing many feeds: in one thread vs a thread pool vs the process pool the poller uses.

    .venv/bin/python benchmarks/bench_parse.py [--feeds 16] [--items 200]

Prints wall time per strategy and the ratio to the single-thread baseline, for small and
large documents, which is where PROCESS_PARSE_MIN_BYTES in aggregator/update.py comes from.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from aggregator.ingest.parse.feedparser_path import parse_feed

ITEM = """<item><title>Story {i}: the city council adopts plan {i}</title>
<link>https://city.example/news/{i}</link><guid>https://city.example/news/{i}</guid>
<pubDate>Mon, 03 May 2021 09:30:00 +0100</pubDate><category>Résilience, Resiliencia</category>
<description>&lt;p&gt;Paragraph {i} with &lt;a href="/x/{i}"&gt;a link&lt;/a&gt; and
&lt;strong&gt;some markup&lt;/strong&gt;, repeated to give the body a realistic size.
Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.&lt;/p&gt;
</description></item>"""


def make_feed(items: int) -> bytes:
    body = "".join(ITEM.format(i=i) for i in range(items))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Bench</title><link>https://city.example/</link>{body}"
            f"</channel></rss>").encode()


def _one(body: bytes) -> int:
    return len(parse_feed(body, "https://city.example/feed.xml").entries)


def timed(run: Callable[[], list[int]]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--feeds", type=int, default=16)
    args.add_argument("--workers", type=int, default=2)
    opts = args.parse_args()
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(opts.workers, mp_context=context) as procs, \
            ThreadPoolExecutor(opts.workers) as threads:
        start = time.perf_counter()
        procs.submit(_one, make_feed(1)).result()  # warm the pool, as a running service is
        print(f"process pool start-up (forkserver, first task): "
              f"{time.perf_counter() - start:.3f}s")
        for items in (5, 10, 20, 50, 200):
            bodies = [make_feed(items) for _ in range(opts.feeds)]
            size = len(bodies[0])
            base = timed(lambda b=bodies: [_one(x) for x in b])
            thr = timed(lambda b=bodies: list(threads.map(_one, b)))
            prc = timed(lambda b=bodies: list(procs.map(_one, b)))
            print(f"{opts.feeds} feeds x {items:>3} items ({size / 1024:6.0f} KiB each): "
                  f"inline {base:6.3f}s | threads {thr:6.3f}s ({base / thr:4.2f}x) | "
                  f"processes {prc:6.3f}s ({base / prc:4.2f}x)")


if __name__ == "__main__":
    main()
