"""Parsing in worker processes, each document under a memory and a time bound.

feedparser is pure Python: threads parsing in parallel take turns on the GIL, so documents
are parsed in a process pool. Each worker caps its own address space (RLIMIT_AS) and each
parse has a CPU-independent wall-clock alarm, so one pathological document becomes that
source's ParseError instead of exhausting the machine. A worker that dies takes the pool
with it; the pool is then rebuilt for the next document.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import select
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import FrameType

from aggregator.config import Settings
from aggregator.errors import ParseError
from aggregator.ingest.parse.fast_path import read_feed
from aggregator.models import ParsedFeed

WATCH_STACK = 256 * 1024  # the watcher thread needs little; RLIMIT_AS counts stacks
# Documents below this size are parsed in the calling thread: the fast path reads them in a
# few milliseconds, less than a round trip to a worker, and a pool that is never needed is
# never started (each worker is ~45 MB). Measured in docs/benchmarks.md (issue 13).
INLINE_BELOW = 256 * 1024
# A cycle of this many sources parses every document in the workers: the thread that plans
# stories and writes the store shares the GIL with inline parsing, and in a big cycle it is
# the bottleneck (2,000 feeds, cold: 131.6 s inline, 117.1 s in workers; 200 feeds: the
# same wall either way, so a small cycle leaves the pool unstarted).
BUSY_CYCLE = 500


class _ParseTimeout(BaseException):  # not an Exception: parse_feed must not catch it
    pass


def _init_worker(memory: int, service: int) -> None:
    # feedparser's SAX driver is imported on first use; imported now, before the bound, so
    # a worker that once ran out of memory never fails that import later
    import xml.sax.expatreader  # noqa: F401

    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    threading.stack_size(WATCH_STACK)
    threading.Thread(target=_exit_with, args=(service,), daemon=True).start()


def _exit_with(service: int) -> None:
    """End this worker when the service process ends, however it ends (kill -9, OOM, a stop
    timeout): the forkserver lives as long as any worker does, so nothing else would."""
    try:
        fd = os.pidfd_open(service)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd (not Linux >= 5.3): look once a second
        while _exists(service):
            time.sleep(1)
        os._exit(1)
    select.select([fd], [], [])  # readable when the process has exited
    os._exit(1)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise _ParseTimeout


Parser = Callable[[bytes, str, str | None], ParsedFeed]


def parse_bounded(parser: Parser, body: bytes, url: str, content_type: str | None,
                  seconds: float) -> ParsedFeed:
    """Runs in a worker process (its main thread, so the alarm can interrupt it)."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return parser(body, url, content_type)
    except _ParseTimeout:
        raise ParseError(f"parsing took longer than {seconds:g}s") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class ParsePool:
    """``parser(body, url, content_type)`` in bounded worker processes; inline (no bounds:
    the size is the bound) for documents under ``inline_below`` bytes (none in a busy
    cycle: ``size_for``) and when
    ``processes`` is 0 (tests and embedding). The parser is a module-level
    function (it is sent to the workers by name): feedparser's path by default, a faster
    one later."""

    def __init__(self, processes: int, memory: int, seconds: float,
                 parser: Parser = read_feed, inline_below: int | None = None) -> None:
        self.parser = parser
        self._inline_below = INLINE_BELOW if inline_below is None else inline_below
        self.inline_below = self._inline_below
        self.processes = processes
        self.memory = memory
        self.seconds = seconds
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, processes: int) -> ParsePool:
        """The bounded pool every driver parses with: the bounds of ``ingest``."""
        return cls(processes, settings.ingest.parse_memory,
                   settings.ingest.parse_timeout.total_seconds())

    def size_for(self, sources: int) -> None:
        """Set the inline rule for a cycle of ``sources`` (BUSY_CYCLE)."""
        self.inline_below = 0 if sources >= BUSY_CYCLE else self._inline_below

    @property
    def started(self) -> bool:
        return self._pool is not None

    def parse(self, body: bytes, url: str, content_type: str | None) -> ParsedFeed:
        if self.processes == 0 or len(body) < self.inline_below:
            return self.parser(body, url, content_type)
        pool = self._get()
        try:
            return pool.submit(parse_bounded, self.parser, body, url, content_type,
                               self.seconds).result()
        except BrokenProcessPool as e:
            self._discard(pool)
            raise ParseError("the parser process died (memory limit reached?)") from e

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None

    def _get(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # forkserver: forking a process that runs fetch threads is unsafe
                context = multiprocessing.get_context("forkserver")
                self._pool = ProcessPoolExecutor(self.processes, mp_context=context,
                                                 initializer=_init_worker,
                                                 initargs=(self.memory, os.getpid()))
            return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)
