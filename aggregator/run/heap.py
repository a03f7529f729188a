"""Keep the allocator from holding on to memory the service has freed, and the cyclic
collector from walking what a cycle keeps.

A cycle reads bodies up to poll.max_bytes (10 MiB) in several fetch threads; glibc gives each
thread its own arena and keeps freed pages there, so the resident size climbs to the worst
cycle's peak and stays (benchmarks/soak_memory.py: 110 -> 195 MB over 60 hostile cycles, with
a Python heap flat at 12 MB: retention, not a leak). Two arenas (set before any thread
starts) and a malloc_trim after each cycle hold it at about 90 MB. Elsewhere than glibc
these do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

M_ARENA_MAX = -8  # malloc.h
ARENAS = 2  # one for the cycle's thread, one shared by the fetch threads


@cache
def _libc_function(name: str) -> Callable[..., int] | None:
    library = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(library), name) if library else None
    except (OSError, AttributeError):
        return None


def limit_arenas() -> None:
    """Call before threads start: arenas made later take the limit."""
    mallopt = _libc_function("mallopt")
    if mallopt is not None:
        mallopt(M_ARENA_MAX, ARENAS)


def give_back() -> None:
    trim = _libc_function("malloc_trim")
    if trim is not None:
        trim(0)


@contextmanager
def collector_paused() -> Iterator[None]:
    """A cycle: no automatic collection while it runs; its garbage is collected at each
    store write (``keep_stored``) and at its end. Each full collection walks every object
    the collector tracks, and the collector makes one whenever the long-lived heap has grown
    by a quarter: a cold cycle, whose heap grows batch by batch, made 35 of them (10 s of a
    cold update at N=2000)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        keep_stored()
        if enabled:
            gc.enable()


def keep_stored() -> None:
    """After a store write: the garbage made since the last one collected, and what stays
    (rows, indexes, states: a million objects at 80,000 entries) frozen out of later
    walks. What the freeze keeps and dies later waits for ``collect_kept``."""
    gc.collect(1)
    gc.freeze()


def collect_kept() -> None:
    """For a process that runs cycle after cycle (the service): one full collection of
    everything, then the survivors frozen again (0.25 s at N=2000). A one-shot ``poll``
    exits instead."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
