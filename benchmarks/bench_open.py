"""Opening the TinyDB store: commands that need no entry, and the bytes a small write rewrites.

    .venv/bin/python benchmarks/bench_open.py [SIZE]   (default: 75000 stored entries)

A look-alike network of SIZE entries (about 50 per source) is stored twice, side by side:
in the sharded layout (a main file + one shard per source) and in the first, one-file
layout (what every store was before; the code still reads it, so "before" runs the same
commands on it). Timed as fresh processes, the way an operator runs them, interleaved,
median of 5: `aggregator --version` (the floor: start-up and imports), `entries --count`
and `status`. Then a cycle that changed 10 entries of one source is applied to each, and
the bytes of the files it replaced are compared with the store's size.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

import bench_stories  # noqa: E402

from aggregator.models import SourceState  # noqa: E402
from aggregator.store import open_store  # noqa: E402
from aggregator.store.codec import entry_to_dict, state_to_dict  # noqa: E402
from aggregator.store.memory import MemoryStore  # noqa: E402

CLI = str(Path(sys.executable).with_name("aggregator"))
ROUNDS = 5


def write_config(folder: Path, kinds: dict[str, str]) -> Path:
    base = (ROOT / "config.yaml").read_text()
    head = base[:base.index("\nsources:")]
    head = head.replace("path: data/store.json", f"path: {folder / 'store.json'}")
    lines = [head, "sources:"]
    for sid, kind in kinds.items():
        lines += [f"  - id: {sid}", f"    name: {sid}", f"    kind: {kind}",
                  f"    url: https://{sid}.example/feed"]
    path = folder / "config.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def store_both(memory: MemoryStore, sharded: Path, one_file: Path) -> None:
    entries = memory.entries(include_duplicates=True)
    states = [SourceState(s) for s in memory.count_by_source()]
    store = open_store(sharded / "store.json")
    store.apply(entries, states)
    store.close()
    one_file.mkdir()
    (one_file / "store.json").write_bytes(orjson.dumps({
        "entries": {str(i): entry_to_dict(e) for i, e in enumerate(entries, 1)},
        "sources": {str(i): state_to_dict(s) for i, s in enumerate(states, 1)}}))


def run(config: Path, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([CLI, "--config", str(config), *args], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def files(folder: Path) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_ino, p.stat().st_size) for p in folder.rglob("*") if p.is_file()
            and not p.name.endswith(".lock")}


def rewritten(folder: Path, memory: MemoryStore) -> tuple[int, int]:
    """Bytes of the files a 10-entry change replaced, and the store's bytes after it."""
    source = next(iter(memory.count_by_source()))
    changed = [replace(e, title=e.title + " (updated)")
               for e in memory.entries(source_id=source, include_duplicates=True)[:10]]
    before = files(folder)
    store = open_store(folder / "store.json")
    store.apply(changed, [SourceState(source, failures=0)])
    store.close()
    after = files(folder)
    written = sum(size for p, (ino, size) in after.items() if before.get(p, (0,))[0] != ino)
    return written, sum(size for _, size in after.values())


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 75000
    memory = MemoryStore()
    cands, kinds = bench_stories.candidates(size, "", 1)
    bench_stories.planned(memory, cands, kinds)
    print(f"python {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} cores; {len(memory.entries(include_duplicates=True))} entries, "
          f"{len(kinds)} sources")
    with tempfile.TemporaryDirectory() as tmp:
        sharded, one_file = Path(tmp, "sharded"), Path(tmp, "one-file")
        sharded.mkdir()
        store_both(memory, sharded, one_file)
        configs = {"one file": write_config(one_file, kinds),
                   "sharded": write_config(sharded, kinds)}
        commands = {"--version": ("--version",), "entries --count": ("entries", "--count"),
                    "status": ("status",)}
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(ROUNDS):  # interleaved: drift in the machine hits both alike
            for layout, config in configs.items():
                for name, args in commands.items():
                    times.setdefault((layout, name), []).append(run(config, *args))
        floor = statistics.median(times[("sharded", "--version")])
        print(f"{'command':<16} {'one file s':>11} {'sharded s':>10} {'x --version':>12}")
        for name in commands:
            old, new = (statistics.median(times[(lay, name)]) for lay in ("one file", "sharded"))
            print(f"{name:<16} {old:>11.3f} {new:>10.3f} {new / floor:>12.2f}")
        for layout, folder in (("one file", one_file), ("sharded", sharded)):
            written, total = rewritten(folder, memory)
            print(f"10-entry change, {layout}: rewrote {written / 1e6:.2f} MB of "
                  f"{total / 1e6:.1f} MB ({100 * written / total:.2f} %)")


if __name__ == "__main__":
    main()
