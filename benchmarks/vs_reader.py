"""The aggregator against `reader` and a naive loop, on one local network of feeds.

    .venv/bin/python benchmarks/vs_reader.py [--feeds 200] [--repeat 5]

A deterministic network (feed_network.py) is served from 127.0.0.1. Each repetition starts
from a fresh network and empty stores, then runs four rounds, every contestant in turn
(interleaved, so drift in the machine hits all alike), each as fresh processes:

- cold: every feed fetched and read for the first time;
- warm: nothing changed (every feed answers 304);
- mutated: 3 new entries in 10 % of the feeds;
- twenty: 3 new entries in each of the same 20 member feeds whatever N (the cost of one small
  change: at N=200 and N=2000 it should be the same);
- rebuild: every output rendered again from the store (the aggregator only: `build`;
  reader and the loop publish nothing); it also indexes for search the stories of the
  `twenty` round, which a young index leaves pending;
- retheme: `build` once more, on outputs now all up to date (as after a template change:
  issue 25's build target, set beside reader's cold round).

``--default-caps`` keeps the shipped retention and per-document caps (stored < served then,
by design); ``--store-url`` runs the aggregator on PostgreSQL (the server's memory is not
counted in the peak).

Contestants: `aggregator poll` (as an operator runs it), `reader` (update_feeds(workers=4),
in its own virtual environment, created on first use in benchmarks/.reader-venv: reader pins
an older feedparser) and requests+feedparser one feed after another. Per round: wall and
CPU seconds, the peak resident memory of the whole process tree (sampled from /proc every
20 ms), what the server saw (requests, 200s, 304s, connections), entries stored against entries
served, and what the round wrote (bytes and files new or changed in the contestant's folder:
store and outputs). Medians; ratios against reader.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import feed_network  # noqa: E402

READER_VENV = HERE / ".reader-venv"
ROUNDS = ("cold", "warm", "mutated", "twenty", "rebuild", "retheme")
BUILDS = ("rebuild", "retheme")  # the aggregator's `build` rounds
SMALL_CHANGE = 20  # feeds the "twenty" round changes


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float
    server: dict[str, int]
    stored: int | None = None
    phases: dict[str, float] = field(default_factory=dict)  # poll --json: update_s, publish_s
    written: dict[str, tuple[int, int]] = field(default_factory=dict)  # by kind:
    # files, bytes new or changed in the folder


@dataclass
class Results:
    runs: dict[tuple[str, str], list[Run]] = field(default_factory=dict)
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # the last rebuild's

    def add(self, who: str, round_: str, run: Run) -> None:
        self.runs.setdefault((who, round_), []).append(run)


def reader_python() -> Path:
    python = READER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(READER_VENV)], check=True)
        # reader vendors a feedparser that needs sgmllib (its optional extra, spelled out)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "reader", "sgmllib3k"],
                       check=True)
    return python


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += next(int(line.split()[1]) * 1024 for line in status.splitlines()
                          if line.startswith("VmRSS:"))
            for task in Path(f"/proc/{p}/task").iterdir():
                children = (task / "children").read_text().split()
                todo += [int(c) for c in children]
        except (OSError, StopIteration, ValueError):
            continue
    return total


def measure(command: list[str], base: str, cwd: Path) -> tuple[Run, str]:
    before = stats(base)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    peak = 0

    def sample() -> None:
        nonlocal peak
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({proc.returncode}): {err[-2000:]}")
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    seen = {k: v - before.get(k, 0) for k, v in stats(base).items() if k != "entries"}
    return Run(wall, cpu, peak / 2**20, seen), out


def stats(base: str) -> dict[str, int]:
    with urllib.request.urlopen(base + "_stats", timeout=10) as r:
        found: dict[str, int] = json.loads(r.read())
        return found


def post(base: str, path: str) -> None:
    urllib.request.urlopen(urllib.request.Request(base + path, method="POST"), timeout=60)


SETUP: dict[str, str | bool] = {"store_url": "", "default_caps": False}  # from the options


def aggregator_config(folder: Path, urls: list[str]) -> Path:
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["store"] = ({"url": fresh_database(str(SETUP["store_url"]))} if SETUP["store_url"]
                       else {"path": str(folder / "store.json")})
    config["output"] = {"dir": str(folder / "feeds"), "entries_per_feed": 50}
    config["poll"].update({"allow_hosts": ["127.0.0.1"], "workers": 8, "per_host": 8})
    # reader keeps every entry: so does the aggregator here. By default it keeps the newest
    # 5,000 per category (at N=2000 two thirds of the 80,000 would be pruned) and the
    # newest 100 items of one document (the 12 partner feeds list ~700 each at N=2000).
    if not SETUP["default_caps"]:
        config["retention"] = {"max_per_category": 1_000_000}
        config["ingest"] = {"max_entries": 10_000}
    config["sources"] = [{"id": f"s{i}", "name": f"Source {i}", "url": u,
                          "kind": "partner" if "partner" in u else "member"}
                         for i, u in enumerate(urls)]
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return path


def fresh_database(server: str) -> str:
    """An empty PostgreSQL database with the aggregator's schema, on ``server``
    (postgresql://user@host/any); dropped at exit."""
    import atexit

    import psycopg

    from aggregator.store.migrate import upgrade
    name = f"vs_reader_{os.getpid()}_{time.monotonic_ns()}"
    admin = psycopg.connect(server, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    atexit.register(lambda: admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    url = server.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    return url


def commands(who: str, folder: Path, urls_file: Path) -> dict[str, list[str] | None]:
    cli = str(Path(sys.executable).with_name("aggregator"))
    if who == "aggregator":
        config = str(folder / "config.yaml")
        poll = [cli, "poll", "-q", "--json", "--config", config]
        return {"cold": poll, "warm": poll, "mutated": poll, "twenty": poll,
                "rebuild": [cli, "build", "-q", "--config", config],
                "retheme": [cli, "build", "-q", "--config", config]}
    if who == "reader":
        poll = [str(reader_python()), str(HERE / "contestants" / "reader_poll.py"),
                str(folder / "reader.sqlite"), str(urls_file)]
    else:
        poll = [sys.executable, str(HERE / "contestants" / "naive_poll.py"), str(urls_file),
                str(folder / "naive.json")]
    return {"cold": poll, "warm": poll, "mutated": poll, "twenty": poll, "rebuild": None,
            "retheme": None}


def stored(who: str, folder: Path, out: str) -> int:
    if who == "aggregator":
        cli = str(Path(sys.executable).with_name("aggregator"))
        result = subprocess.run([cli, "entries", "--count", "--include-duplicates",
                                 "--config", str(folder / "config.yaml")],
                                capture_output=True, text=True, check=True)
        return int(result.stdout)
    return int(out.strip().splitlines()[-1])


def kind_of(rel: str) -> str:
    """An aggregator file (relative to its folder) by kind: store, site html, feeds..."""
    if rel.startswith("store.json"):
        return "store"
    if not rel.startswith("feeds/"):
        return "beside"  # the store's lock, the service's files
    rel = rel.removeprefix("feeds/")
    return ("search" if rel.startswith("pagefind/") else "feed archives"
            if "archive/" in rel and not rel.endswith(".html") else "site html"
            if rel.endswith(".html") else "feeds" if rel.endswith((".atom", ".rss", ".json"))
            else "other")


Snapshot = dict[str, tuple[int, int, int]]


def snapshot(folder: Path) -> Snapshot:
    """Every file under ``folder`` but the config: (inode, size, mtime). Files are replaced
    whole (written beside, then renamed): a new inode or mtime means written again."""
    found: Snapshot = {}
    for path in folder.rglob("*"):
        try:
            st = path.lstat()
        except OSError:
            continue
        if path.is_file() and path.name != "config.yaml":
            found[path.relative_to(folder).as_posix()] = (st.st_ino, st.st_size,
                                                          st.st_mtime_ns)
    return found


def by_kind(files: Snapshot) -> dict[str, tuple[int, int]]:
    """Files and bytes by kind, and in "all"."""
    out: dict[str, tuple[int, int]] = {}
    for rel, (_, size, _) in files.items():
        for kind in ("all", kind_of(rel)):
            count, total = out.get(kind, (0, 0))
            out[kind] = (count + 1, total + size)
    return out


def sizes(folder: Path) -> dict[str, tuple[int, int]]:
    """The aggregator's outputs and store by kind: (files, bytes)."""
    found = by_kind(snapshot(folder))
    found.pop("all", None)
    found.pop("beside", None)
    return found


def written(before: Snapshot, after: Snapshot) -> dict[str, tuple[int, int]]:
    """Files and bytes new or changed between two snapshots, by kind (and "all")."""
    return by_kind({rel: v for rel, v in after.items() if before.get(rel) != v})


def report_sizes(found: dict[str, tuple[int, int]]) -> None:
    store = found.get("store", (0, 1))[1]
    outputs = sum(size for kind, (_, size) in found.items() if kind != "store")
    print("\naggregator outputs after the rebuild, by kind: files, MB, x the store's bytes")
    for kind, (files, size) in sorted(found.items()):
        print(f"  {kind:<14} {files:>7} {size / 2**20:>9.1f} {size / store:>6.2f}x")
    print(f"  {'all outputs':<14} {'':>7} {outputs / 2**20:>9.1f} {outputs / store:>6.2f}x")


def repetition(results: Results, network: feed_network.Network, base: str, order: list[str],
               expected: dict[str, int]) -> None:
    post(base, "_reset")
    urls = [f"{base}feeds/{name}" for name in sorted(network.feeds)]
    with tempfile.TemporaryDirectory() as tmp:
        folders = {who: Path(tmp, who) for who in order}
        for folder in folders.values():
            folder.mkdir()
        urls_file = Path(tmp, "urls.txt")
        urls_file.write_text("\n".join(urls))
        if "aggregator" in folders:
            aggregator_config(folders["aggregator"], urls)
        plans = {who: commands(who, folders[who], urls_file) for who in order}
        for round_ in ROUNDS:
            if round_ == "mutated":
                post(base, "_mutate")
            elif round_ == "twenty":
                post(base, f"_mutate?feeds={SMALL_CHANGE}")
            expected[round_] = network.entries()
            for who in order:
                command = plans[who][round_]
                if command is None:
                    continue
                before = snapshot(folders[who])
                run, out = measure(command, base, folders[who])
                run.written = written(before, snapshot(folders[who]))
                if round_ not in BUILDS:
                    run.stored = stored(who, folders[who], out)
                if who == "aggregator" and round_ not in BUILDS:
                    run.phases = json.loads(out)["timings"]
                if who == "aggregator" and round_ in BUILDS:
                    results.sizes = sizes(folders[who])
                results.add(who, round_, run)


def report(results: Results, expected: dict[str, int], feeds: int) -> None:
    print(f"\n{feeds} feeds; python {platform.python_version()}, {os.cpu_count()} cores")
    print(f"{'round':<8} {'who':<11} {'wall s':>8} {'cpu s':>7} {'peak MB':>8} {'req':>6} "
          f"{'200':>5} {'304':>5} {'conns':>6} {'stored':>7} {'of':>6} {'wall/reader':>11} "
          f"{'cpu/reader':>10} {'rss/reader':>10}")
    for round_ in ROUNDS:
        ref = results.runs.get(("reader", round_))
        for who in ("aggregator", "reader", "naive"):
            runs = results.runs.get((who, round_))
            if not runs:
                continue
            med = {k: statistics.median(getattr(r, k) for r in runs)
                   for k in ("wall", "cpu", "rss_mb")}
            seen = {k: int(statistics.median(r.server.get(k, 0) for r in runs))
                    for k in ("requests", "ok", "not_modified", "connections")}
            kept = runs[-1].stored
            ratio = [f"{med[k] / statistics.median(getattr(r, k) for r in ref):.2f}x"
                     if ref else "-" for k in ("wall", "cpu", "rss_mb")]
            print(f"{round_:<8} {who:<11} {med['wall']:>8.2f} {med['cpu']:>7.2f} "
                  f"{med['rss_mb']:>8.0f} {seen['requests']:>6} {seen['ok']:>5} "
                  f"{seen['not_modified']:>5} {seen['connections']:>6} "
                  f"{kept if kept is not None else '-':>7} {expected.get(round_, 0):>6} "
                  f"{ratio[0]:>11} {ratio[1]:>10} {ratio[2]:>10}")
            if who == "aggregator" and runs[0].phases:
                base = statistics.median(r.wall for r in ref) if ref else None
                for phase in ("update", "publish"):
                    took = statistics.median(r.phases[f"{phase}_s"] for r in runs)
                    share = f"{took / base:>10.2f}x" if base else f"{'-':>10}"
                    print(f"{'':<8} {'  ' + phase:<11} {took:>8.2f} {'':>7} {'':>8} "
                          f"{'':>46} {share}" + (" (of reader's wall)" if phase == "update"
                                                 and base else ""))
            cold = results.runs.get(("reader", "cold"))
            if who == "aggregator" and round_ in BUILDS and cold:
                print(f"{'':<8} {'':<11} {'':>8} {'':>7} {'':>8} {'':>46} "
                      f"{med['wall'] / statistics.median(r.wall for r in cold):>10.2f}x"
                      " (of reader's cold wall)")


def report_written(results: Results) -> None:
    print("\nwritten per round (new or changed in the folder), by kind: files, MB; medians")
    for round_ in ROUNDS:
        for who in ("aggregator", "reader", "naive"):
            runs = results.runs.get((who, round_))
            if not runs:
                continue
            kinds = sorted({k for r in runs for k in r.written}, key=lambda k: (k != "all", k))
            for kind in kinds:
                files = statistics.median(r.written.get(kind, (0, 0))[0] for r in runs)
                size = statistics.median(r.written.get(kind, (0, 0))[1] for r in runs)
                print(f"  {round_:<8} {who:<11} {kind:<14} {files:>8.0f} {size / 2**20:>9.2f}")


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("--feeds", type=int, default=200)
    args.add_argument("--repeat", type=int, default=5)
    args.add_argument("--store-url", default="",
                      help="the aggregator on PostgreSQL (a fresh database per repetition "
                      "on this server, e.g. postgresql://postgres@127.0.0.1/postgres)")
    args.add_argument("--default-caps", action="store_true",
                      help="the shipped retention and per-document caps (not every entry)")
    args.add_argument("--only", default="aggregator,reader,naive",
                      help="contestants, comma-separated (reader is the ratios' base)")
    opts = args.parse_args()
    SETUP.update(store_url=opts.store_url, default_caps=opts.default_caps)
    reader_python()  # the venv is made before anything is timed
    network = feed_network.Network(opts.feeds)
    server = feed_network.serve(network)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    results, expected = Results(), dict[str, int]()
    order = [who for who in ("aggregator", "reader", "naive") if who in opts.only.split(",")]
    for i in range(opts.repeat):
        turn = i % len(order)
        repetition(results, network, base, order[turn:] + order[:turn], expected)
        print(f"repetition {i + 1}/{opts.repeat} done", file=sys.stderr)
    report(results, expected, opts.feeds)
    report_written(results)
    if results.sizes:
        report_sizes(results.sizes)
    server.shutdown()


if __name__ == "__main__":
    main()
