"""Give freed memory back to the system after a cycle.

A cycle reads bodies up to poll.max_bytes (10 MiB) in several fetch threads; glibc keeps the
freed pages in per-thread arenas, so the resident size climbs to the worst cycle's peak and
stays there (benchmarks/soak_memory.py: 110 -> 195 MB over 60 hostile cycles, with a Python
heap flat at 12 MB: retention, not a leak). malloc_trim returns them. Elsewhere than glibc
this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import cache


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def give_back() -> None:
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
