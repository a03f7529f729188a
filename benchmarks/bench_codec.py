"""The store codec: derived from the records' fields (aggregator/store/codec.py) against the
hand-written one it replaced (benchmarks/contestants/codec_by_hand.py), side by side.

    .venv/bin/python benchmarks/bench_codec.py [ENTRIES]   (default: 20000)

ENTRIES entries of the look-alike network are encoded and decoded by both codecs, rounds
interleaved, median of 5; the documents are checked equal byte for byte first.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

import bench_stories  # noqa: E402
from contestants import codec_by_hand  # noqa: E402

from aggregator.store import codec  # noqa: E402
from aggregator.store.memory import MemoryStore  # noqa: E402

ROUNDS = 5


def entries(n: int) -> list:  # type: ignore[type-arg]
    store = MemoryStore()
    cands, kinds = bench_stories.candidates(n, "", 1)
    bench_stories.planned(store, cands, kinds)
    return store.entries(include_duplicates=True)


def timed(f, xs: list) -> float:  # type: ignore[no-untyped-def, type-arg]
    start = time.perf_counter()
    for x in xs:
        f(x)
    return (time.perf_counter() - start) / len(xs) * 1e6


def main(n: int) -> None:
    found = entries(n)
    docs = [codec.entry_to_dict(e) for e in found]
    assert [orjson.dumps(d) for d in docs] == \
        [orjson.dumps(codec_by_hand.entry_to_dict(e)) for e in found]
    assert [codec.entry_from_dict(d) for d in docs] == \
        [codec_by_hand.entry_from_dict(d) for d in docs]
    rows = {"encode": ([], []), "decode": ([], [])}
    for _ in range(ROUNDS):
        rows["encode"][0].append(timed(codec_by_hand.entry_to_dict, found))
        rows["encode"][1].append(timed(codec.entry_to_dict, found))
        rows["decode"][0].append(timed(codec_by_hand.entry_from_dict, docs))
        rows["decode"][1].append(timed(codec.entry_from_dict, docs))
    print(f"{len(found)} entries, Python {platform.python_version()}, {platform.machine()}")
    print(f"{'':8}{'by hand us':>12}{'derived us':>12}{'ratio':>8}")
    for name, (hand, derived) in rows.items():
        a, b = statistics.median(hand), statistics.median(derived)
        print(f"{name:8}{a:12.1f}{b:12.1f}{b / a:8.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
