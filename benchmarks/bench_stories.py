"""Story planning cost per entry as the store grows: it must stay flat.

    .venv/bin/python benchmarks/bench_stories.py [SIZES...]   (default: 10000 50000 100000)

For each size N: a look-alike network of N entries (tests/support/lookalike.py) is planned and
stored, then N new entries of a second, disjoint network (same dates, same templates, so
every fingerprint bucket is as full as it gets) are planned against it. Reported: the
per-entry cost of that second plan. Side by side, for the smaller sizes, the window scan
the store used before fingerprints (every new entry compared with every entry published
within the window, word-bigram Jaccard), timed on a sample of new entries.
"""

from __future__ import annotations

import itertools
import platform
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import lookalike  # noqa: E402

from aggregator.config.taxonomy import fold  # noqa: E402
from aggregator.models import EntryData, FeedMeta, StoredEntry  # noqa: E402
from aggregator.sanitize import plain_text  # noqa: E402
from aggregator.store.memory import MemoryStore  # noqa: E402
from aggregator.stories import plan as dedup  # noqa: E402
from aggregator.stories.identity import identities  # noqa: E402

PER_FEED = 50
NOW = lookalike.NOW


def candidates(size: int, prefix: str, seed: int) -> tuple[list[dedup.Candidate],
                                                            dict[str, str]]:
    members = max(1, round(size / PER_FEED / 1.12))
    feeds = lookalike.network(members=members, per_feed=PER_FEED, seed=seed, prefix=prefix)
    out, kinds = [], {}
    for f in feeds:
        kinds[f.source_id] = f.kind
        data = [EntryData(guid=i.guid, link=i.link, title=i.title, summary=i.summary,
                          published=i.published) for i in f.items]
        out += [dedup.Candidate(f.source_id, f.kind, ident, d, ("x",), f.language,  # type: ignore[arg-type]
                                FeedMeta(title=f.source_id))
                for ident, d in zip(identities(data), data, strict=True)]
    return out, kinds


def planned(store: MemoryStore, cands: list[dedup.Candidate], kinds: dict[str, str]) -> float:
    lookups = dedup.Lookups(store.get, store.by_canonical, store.by_story,
                            store.by_fingerprint, store.is_tombstone)
    start = time.perf_counter()
    plan = dedup.plan(cands, lookups, kinds, "tag:bench,2026:", NOW)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - start
    store.apply(plan.writes, [])
    return elapsed


def _bigrams(e: StoredEntry) -> frozenset[str]:
    words = fold(e.title).split() + fold(plain_text(e.summary or "", True)).split()[:60]
    return frozenset(f"{a} {b}" for a, b in itertools.pairwise(words))


def window_scan(store: MemoryStore, sample: list[StoredEntry]) -> float:
    """The pre-fingerprint search: compare with every entry in the window."""
    prints: dict[str, frozenset[str]] = {}
    start = time.perf_counter()
    for e in sample:
        mine = _bigrams(e)
        for other in store.published_between(e.published - timedelta(days=7),
                                             e.published + timedelta(days=7)):
            theirs = prints.get(other.key)
            if theirs is None:
                theirs = prints[other.key] = _bigrams(other)
            _ = len(mine & theirs) / max(1, len(mine | theirs))
    return (time.perf_counter() - start) / len(sample)


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 50_000, 100_000]
    print(f"python {platform.python_version()} on {platform.machine()}, "
          f"{platform.processor() or 'cpu'}")
    print(f"{'stored':>8} {'new':>8} {'plan s':>8} {'us/entry':>9} {'window scan us/entry':>21}"
          f" {'ratio':>7}")
    for size in sizes:
        store = MemoryStore()
        first, kinds = candidates(size, "", 1)
        planned(store, first, kinds)
        second, more = candidates(size, "n", 2)
        elapsed = planned(store, second, kinds | more)
        per = elapsed / len(second) * 1e6
        scan = ""
        if size <= 50_000:
            sample = store.entries(source_id=second[0].source_id)[:20]
            old = window_scan(store, sample) * 1e6
            scan = f"{old:>21.0f} {old / per:>6.0f}x"
        print(f"{len(store.entries(include_duplicates=True)) - len(second):>8} "
              f"{len(second):>8} {elapsed:>8.2f} {per:>9.0f} {scan}")


if __name__ == "__main__":
    main()
