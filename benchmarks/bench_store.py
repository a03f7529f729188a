"""Writing a cycle's entries: our batched TinyDB store vs TinyDB used the plain way.

    .venv/bin/python benchmarks/bench_store.py [--stored 2000] [--batch 200]

The plain way is TinyDB's default JSONStorage with one ``upsert`` per entry: each call scans
the table and rewrites the whole file in place. Ours writes the batch in two table passes
and the file once, atomically. Prints both times and the ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tinydb import Query, TinyDB

from aggregator.models import FeedMeta, StoredEntry
from aggregator.store.codec import entry_to_dict
from aggregator.store.tinydb import TinyDBStore

T0 = datetime(2021, 1, 1, tzinfo=UTC)


def entry(i: int) -> StoredEntry:
    when = T0 + timedelta(minutes=i)
    return StoredEntry(key=f"s:{i}", source_id="s", entry_id=f"tag:b,2026:{i}",
                       title=f"Story {i}", link=f"https://x.example/{i}",
                       canonical_link=f"https://x.example/{i}", published=when, updated=when,
                       first_seen=when, content_hash=str(i), summary="<p>" + "text " * 60,
                       categories=("resilience",), origin=FeedMeta(title="Bench"))


def ours(directory: Path, stored: list[StoredEntry], batch: list[StoredEntry]) -> float:
    store = TinyDBStore(directory / "ours.json")
    store.apply(stored, [])
    start = time.perf_counter()
    store.apply(batch, [])
    elapsed = time.perf_counter() - start
    store.close()
    return elapsed


def plain(directory: Path, stored: list[StoredEntry], batch: list[StoredEntry]) -> float:
    db = TinyDB(directory / "plain.json")
    table = db.table("entries")
    table.insert_multiple(entry_to_dict(e) for e in stored)
    q = Query()
    start = time.perf_counter()
    for e in batch:
        table.upsert(entry_to_dict(e), q.key == e.key)
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--stored", type=int, default=2000)
    args.add_argument("--batch", type=int, default=200)
    opts = args.parse_args()
    stored = [entry(i) for i in range(opts.stored)]
    # half the batch updates stored entries, half is new
    half = opts.batch // 2
    batch = [replace(e, title=e.title + " (updated)") for e in stored[:half]]
    batch += [entry(opts.stored + i) for i in range(opts.batch - half)]
    with tempfile.TemporaryDirectory() as tmp:
        t_ours = ours(Path(tmp), stored, batch)
        t_plain = plain(Path(tmp), stored, batch)
    print(f"{opts.stored} stored, batch of {opts.batch}: batched+atomic {t_ours:.3f}s | "
          f"TinyDB upsert per entry {t_plain:.3f}s | ratio {t_plain / t_ours:.1f}x")


if __name__ == "__main__":
    main()
