"""The same small change on two histories: `poll`'s publish and bytes, large hub against small.

    .venv/bin/python benchmarks/same_change.py [--large 2000] [--small 200] [--rounds 6]

Two networks of feeds (feed_network.py), each with its own hub (as vs_reader.py configures
the aggregator: every entry kept). Both hubs are polled cold once; then, ``--rounds`` times,
the same 20 member feeds get 3 new entries in both networks and `aggregator poll --json`
runs on the large hub, then on the small one. Alternating the two sizes, round after round,
lets the machine's drift (20-30 % within an evening here) hit both alike, which one
vs_reader.py run per size does not. Prints every round's update and publish seconds (from
`poll --json`) and the bytes written, the medians, and the ratios large/small (issue 25:
publish and bytes within 1.5x).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import feed_network  # noqa: E402
import vs_reader  # noqa: E402


class Hub:
    """One network served from 127.0.0.1 and the aggregator's folder polling it."""

    def __init__(self, feeds: int, folder: Path) -> None:
        self.feeds = feeds
        self.network = feed_network.Network(feeds)
        self.server = feed_network.serve(self.network)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.folder = folder
        folder.mkdir()
        urls = [f"{self.base}feeds/{name}" for name in sorted(self.network.feeds)]
        vs_reader.aggregator_config(folder, urls)
        self.poll = vs_reader.commands("aggregator", folder, folder / "urls.txt")["twenty"]
        assert self.poll is not None

    def round(self) -> tuple[float, float, int]:
        """One poll: its update and publish seconds, and the bytes it wrote."""
        assert self.poll is not None
        before = vs_reader.snapshot(self.folder)
        _, out = vs_reader.measure(self.poll, self.base, self.folder)
        written = vs_reader.written(before, vs_reader.snapshot(self.folder))
        timings = json.loads(out)["timings"]
        return timings["update_s"], timings["publish_s"], sum(b for _, b in written.values())

    def change(self) -> None:
        vs_reader.post(self.base, f"_mutate?feeds={vs_reader.SMALL_CHANGE}")


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("--large", type=int, default=2000)
    args.add_argument("--small", type=int, default=200)
    args.add_argument("--rounds", type=int, default=6)
    opts = args.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hubs = [Hub(opts.large, Path(tmp, "large")), Hub(opts.small, Path(tmp, "small"))]
        for hub in hubs:
            update, publish, _ = hub.round()
            print(f"N={hub.feeds} cold: update {update:.2f} s, publish {publish:.2f} s",
                  flush=True)
        seen: dict[int, list[tuple[float, float, int]]] = {h.feeds: [] for h in hubs}
        for k in range(opts.rounds):
            for hub in hubs:
                hub.change()
                found = hub.round()
                seen[hub.feeds].append(found)
                print(f"round {k + 1} N={hub.feeds}: update {found[0]:.2f} s, publish "
                      f"{found[1]:.2f} s, wrote {found[2] / 2**20:.2f} MB", flush=True)
        medians = {n: [statistics.median(r[i] for r in runs) for i in range(3)]
                   for n, runs in seen.items()}
        large, small = medians[opts.large], medians[opts.small]
        for n, (update, publish, size) in medians.items():
            print(f"median N={n}: update {update:.2f} s, publish {publish:.2f} s, "
                  f"wrote {size / 2**20:.2f} MB")
        print(f"N={opts.large} against N={opts.small}: publish {large[1] / small[1]:.2f}x, "
              f"bytes {large[2] / small[2]:.2f}x (target: each within 1.5x)")


if __name__ == "__main__":
    main()
