"""Parsing in worker processes under a memory and a time bound."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import DATA, EXAMPLES

from aggregator.errors import ParseError
from aggregator.ingest.parse.feedparser_path import parse_feed
from aggregator.ingest.parse.pool import BUSY_CYCLE, INLINE_BELOW, ParsePool
from aggregator.models import ParsedFeed

SMALL = (EXAMPLES / "durban-member-rss1.xml").read_bytes()
BIG = (DATA / "real" / "atom" / "planet-clojure-venus.atom").read_bytes()
HUGE = (b'<rss version="2.0"><channel><title>t</title>' + b"".join(
    b"<item><title>x</title><description>" + b"a" * 400_000 + b"</description></item>"
    for _ in range(40)) + b"</channel></rss>")  # 16 MB


def parse(pool: ParsePool, body: bytes) -> str:
    try:
        return f"{len(pool.parse(body, 'https://x.example/f', None).entries)} entries"
    except ParseError as e:
        return f"error: {e}"


def test_time_bound() -> None:
    pool = ParsePool(1, 2**30, seconds=0.01, inline_below=0)
    try:
        assert parse(pool, BIG) == "error: parsing took longer than 0.01s"
        pool.seconds = 20
        assert parse(pool, SMALL) == "3 entries"  # the same worker goes on
    finally:
        pool.close()


def test_memory_bound_and_recovery() -> None:
    pool = ParsePool(1, 96 * 2**20, seconds=60, inline_below=0)
    try:
        outcome = parse(pool, HUGE)
        assert outcome in ("error: document needs more memory than a parse may use",
                           "error: the parser process died (memory limit reached?)")
        assert parse(pool, SMALL) == "3 entries"  # a dead worker is replaced
    finally:
        pool.close()


def test_worker_results_match_inline_parsing() -> None:
    pool = ParsePool(2, 2**30, seconds=20, inline_below=0)
    inline = ParsePool(0, 2**30, seconds=20)
    try:
        for body in (SMALL, BIG):
            assert pool.parse(body, "https://x.example/f", None) == \
                inline.parse(body, "https://x.example/f", None)
    finally:
        pool.close()


def test_workers_die_with_a_killed_service() -> None:
    import signal
    import subprocess
    import sys
    import time
    code = ("import sys, time\nfrom aggregator.ingest.parse.pool import ParsePool\n"
            "pool = ParsePool(2, 2**30, seconds=20, inline_below=0)\n"
            "pool.parse(open(sys.argv[1], 'rb').read(), 'https://x.example/f', None)\n"
            "print(' '.join(str(p) for p in pool._pool._processes), flush=True)\n"
            "time.sleep(600)\n")
    feed = str(EXAMPLES / "durban-member-rss1.xml")
    proc = subprocess.Popen([sys.executable, "-c", code, feed], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    workers = [int(p) for p in proc.stdout.readline().split()]
    assert workers and all(_alive(p) for p in workers)
    proc.send_signal(signal.SIGKILL)  # as the OOM killer or systemd would
    proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling for the exit of processes we do not own
    assert not any(_alive(p) for p in workers)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False



def shouting(body: bytes, url: str, content_type: str | None) -> ParsedFeed:
    """A parser of our own: the feedparser path, titles in capitals."""
    parsed = parse_feed(body, url, content_type)
    return replace(parsed, entries=tuple(replace(e, title=e.title.upper())
                                         for e in parsed.entries))


@pytest.mark.parametrize("processes", [0, 1])
def test_the_parser_is_a_parameter(processes: int) -> None:
    pool = ParsePool(processes, 2**30, seconds=20, parser=shouting, inline_below=0)
    try:
        titles = [e.title for e in pool.parse(SMALL, "https://x.example/f", None).entries]
    finally:
        pool.close()
    assert titles and all(t == t.upper() and any(c.isalpha() for c in t) for t in titles)


def test_a_busy_cycle_parses_small_documents_in_the_workers() -> None:
    pool = ParsePool(1, 2**30, seconds=20)
    try:
        pool.size_for(BUSY_CYCLE - 1)
        parse(pool, SMALL)
        assert not pool.started  # a small document of a small cycle: inline
        pool.size_for(BUSY_CYCLE)
        assert parse(pool, SMALL) == parse(ParsePool(0, 2**30, seconds=20), SMALL)
        assert pool.started
        pool.size_for(1)
        assert pool.inline_below == INLINE_BELOW
    finally:
        pool.close()
