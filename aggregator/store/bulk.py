"""Objects made in bulk that stay for the process's life: a store's rows (a million objects
at 80,000 entries), a whole build's entries.

Python's cyclic collector walks every object it tracks at each full collection, and makes
full collections as the heap grows: loading the rows of 80,000 entries made nine of them,
0.9 s of a small cycle, and each one after it walked the rows again. Rows and entries hold
no reference cycles (tuples, strings, dates: reference counting frees them), so they are
made with the collector paused, then left out of its walks (``gc.freeze``). What was
already garbage is collected first, on the small heap before them, so nothing in a cycle is
kept by the freeze.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def kept_in_bulk() -> Iterator[None]:
    gc.collect()
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if paused:
            gc.enable()
