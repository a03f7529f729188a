"""Retention reads only the entries that may go (stories/retention.py): a store within its
bounds is not read at all, and what it plans is what reading every entry planned."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.config import RetentionSettings
from aggregator.models import StoredEntry
from aggregator.store import disk, open_store
from aggregator.store.memory import MemoryStore
from aggregator.stories.retention import cutoff, plan_pruning

NOW = datetime(2026, 6, 1, tzinfo=UTC)
CATEGORIES = ("a", "b", "c", "d")


def entry(n: int, source: str, days: int, categories: tuple[str, ...],
          duplicate_of: str | None = None) -> StoredEntry:
    when = NOW - timedelta(days=days, minutes=n)
    key = f"{source}:{n}"
    return StoredEntry(key=key, source_id=source, entry_id=key, title=key, link=None,
                       canonical_link=None, published=when, updated=when, first_seen=when,
                       content_hash=key, categories=categories, own_categories=categories,
                       story=duplicate_of or key, duplicate_of=duplicate_of)


def every_entry_read(store: MemoryStore, settings: RetentionSettings) -> set[str]:
    """What retention removed when it read every entry (the reference)."""
    oldest = cutoff(settings, NOW)
    removed = {e.key for e in store.entries(include_duplicates=True) if e.published < oldest}
    listed = {c: store.entries(category=c) for c in CATEGORIES}
    rank = {c: {e.key: i for i, e in enumerate(found)} for c, found in listed.items()}
    limit = settings.max_per_category
    for found in listed.values():
        for primary in found[limit:]:
            if all(rank.get(c, {}).get(primary.key, limit) >= limit for c in primary.categories):
                removed.add(primary.key)
                removed.update(e.key for e in store.copies_of(primary.key))
    return removed


@pytest.mark.parametrize("seed", range(12))
def test_the_plan_is_the_one_reading_every_entry_gave(seed: int) -> None:
    rng = random.Random(seed)
    store = MemoryStore()
    written: list[StoredEntry] = []
    for n in range(rng.randint(5, 60)):
        cats = tuple(sorted(rng.sample([*CATEGORIES, "elsewhere"], rng.randint(1, 3))))
        primary = entry(n, rng.choice("xyz"), rng.randint(0, 40), cats)
        written.append(primary)
        if rng.random() < 0.2:
            written.append(entry(n, "copy", primary.published.day % 5, cats, primary.key))
    store.apply(written, [])
    settings = RetentionSettings(max_age=timedelta(days=rng.choice((10, 30, 400))),
                                 max_per_category=rng.randint(1, 20))
    planned = plan_pruning(store, CATEGORIES, settings, NOW)
    assert set(planned.removed) == every_entry_read(store, settings)


def test_a_store_within_its_bounds_is_not_read(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "store.json"
    store = open_store(path)
    store.apply([entry(n, f"s{n % 4}", n % 9, (CATEGORIES[n % 4],)) for n in range(40)], [])
    store.close()
    reads: list[Path] = []
    real, lines = disk.read_bytes, disk.read_lines  # shards read whole, or a few lines
    monkeypatch.setattr(disk, "read_bytes", lambda p: (reads.append(p), real(p))[1])
    monkeypatch.setattr(disk, "read_lines", lambda p, spans: (reads.append(p),
                                                              lines(p, spans))[1])
    again = open_store(path)
    try:
        within = RetentionSettings(max_age=timedelta(days=30), max_per_category=10)
        assert plan_pruning(again, CATEGORIES, within, NOW).removed == ()
        assert [p for p in reads if p.parent == disk.shard_dir(path)] == []
        over = RetentionSettings(max_age=timedelta(days=5), max_per_category=10)
        assert len(plan_pruning(again, CATEGORIES, over, NOW).removed) == 16
        assert [p for p in reads if p.parent == disk.shard_dir(path)]  # the aged were read
    finally:
        again.close()
