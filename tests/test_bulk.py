"""Rows and a whole build's entries are made with the collector paused and left out of its
later walks; garbage from before is still collected, and the collector's state comes back."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from aggregator.store import open_store
from aggregator.store.bulk import kept_in_bulk


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_what_is_made_in_bulk_is_frozen_and_earlier_garbage_is_not() -> None:
    garbage = Node()
    gone = weakref.ref(garbage)
    del garbage
    frozen = gc.get_freeze_count()
    try:
        with kept_in_bulk():
            assert not gc.isenabled()
            made = [(n, str(n)) for n in range(5_000)]
        assert gc.isenabled()
        assert gone() is None  # collected before the freeze, not kept by it
        assert gc.get_freeze_count() >= frozen + len(made)
        gc.disable()
        with kept_in_bulk():
            pass
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()
        gc.unfreeze()


def test_a_stores_rows_are_read_in_bulk(tmp_path: Path) -> None:
    from test_store_shards import filled
    path = tmp_path / "store.json"
    filled(path, sources=5, each=400)
    store = open_store(path, readonly=True)
    frozen = gc.get_freeze_count()
    try:
        assert len(store.rows()) == 2_000
        assert gc.get_freeze_count() >= frozen + 2_000  # the rows, out of the walks
    finally:
        store.close()
        gc.unfreeze()


def test_a_cycle_pauses_the_collector_and_the_service_collects_what_it_froze() -> None:
    from aggregator.run.heap import collect_kept, collector_paused, keep_stored
    try:
        with collector_paused():
            assert not gc.isenabled()
            young = Node()
            dead_young = weakref.ref(young)
            del young
            keep_stored()  # a store write: young garbage collected, the rest frozen
            assert dead_young() is None
            kept = Node()  # alive at the freeze, garbage after it
            keep_stored()
            dies_later = weakref.ref(kept)
            del kept
        assert gc.isenabled() and dies_later() is not None  # frozen: not walked
        collect_kept()  # the service, after each cycle
        assert dies_later() is None
    finally:
        gc.enable()
        gc.unfreeze()


def test_a_publishs_listings_are_laid_out_in_bulk(tmp_path: Path) -> None:
    """The arrival order and every listing cut from it (lists of 80,000 rows at N=2000) are
    frozen out of the walks: young collections walked them again and again, ~150 ms of a
    small publish at N=2000 against ~30 at N=200."""
    from test_store_shards import filled

    from aggregator.publish.reads import Reads
    path = tmp_path / "store.json"
    filled(path, sources=3, each=200)
    store = open_store(path, readonly=True)
    try:
        reads = Reads(store)
        made = [reads.listing(), reads.shown(), reads.listed(None, None, "en")]
        assert len(made[0]) == 600 and made[2]
        walked = {id(o) for generation in (0, 1, 2) for o in gc.get_objects(generation)}
        assert not any(id(listing) in walked for listing in made)
    finally:
        store.close()
        gc.unfreeze()
