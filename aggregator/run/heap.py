"""Keep the allocator from holding on to memory the service has freed.

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
from collections.abc import Callable
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
