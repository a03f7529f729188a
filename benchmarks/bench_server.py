"""The built-in server under 200 concurrent clients and under crowds of slow clients:
the I/O loop ("loop") beside the thread-per-request server it replaced ("threads") and
waitress's channel model ("waitress", if installed: pip install waitress).

    .venv/bin/python benchmarks/bench_server.py [CLIENTS] [REQUESTS_EACH]

Every server serves the same output directory with a 10 s request deadline (the service's).
Rounds: the load alone; the load beside 300 idle connections; and an attack: 200 clients
trickling a head that never ends and 70 trickling a push body (a byte a second each, so no
read ever waits 10 s), during which a new client asks for /healthz (waiting at most 30 s)
and then 20 clients make 10 requests each. Reported: requests/s, median and 99th
percentile latency, requests unanswered within 30 s, threads in the process.
"""

from __future__ import annotations

import contextlib
import http.client
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from contestants import servers  # noqa: E402

from aggregator.server import make_server  # noqa: E402

TIMEOUT = 10.0
WAIT = 30.0


def accept(method: str, path: str, query: dict[str, str], headers: dict[str, str],
           body: bytes) -> tuple[int, str, bytes]:
    return 202, "text/plain", b"accepted\n"


def loop(root: Path) -> Any:
    return make_server(root, "127.0.0.1", 0, client_timeout=TIMEOUT,
                       callbacks={"/websub/": accept})


def threads(root: Path) -> Any:
    server = servers.threads(root, TIMEOUT)
    server.RequestHandlerClass.callbacks = {"/websub/": accept}  # type: ignore[attr-defined]
    return server


CANDIDATES: dict[str, Callable[[Path], Any]] = {"threads": threads, "loop": loop}
try:
    import logging

    import waitress  # noqa: F401
    logging.getLogger("waitress").setLevel(logging.ERROR)  # "queue depth" lines
    CANDIDATES["waitress"] = lambda root: servers.Waitress(root, TIMEOUT)
except ImportError:
    pass


def one_request(port: int, path: str = "/all.atom") -> float | None:
    start = time.perf_counter()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
        conn.getresponse().read()
        conn.close()
    except OSError:
        return None
    return time.perf_counter() - start


def load(port: int, clients: int, each: int) -> tuple[float, list[float], int]:
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda _: one_request(port), range(clients * each)))
    elapsed = time.perf_counter() - start
    done = [r for r in results if r is not None]
    return len(done) / elapsed, done, len(results) - len(done)


class Crowd:
    """Slow clients that trickle a byte a second until stopped."""

    def __init__(self, port: int, heads: int, bodies: int) -> None:
        self.socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(heads +
                                                                                   bodies)]
        for s in self.socks[:heads]:
            self._send(s, b"GET /all.atom HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        for s in self.socks[heads:]:
            self._send(s, b"POST /websub/city HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                          b"X-Hub-Signature-256: sha256=00\r\n\r\n<")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _send(self, s: socket.socket, data: bytes) -> None:
        with contextlib.suppress(OSError):
            s.sendall(data)

    def _trickle(self) -> None:
        while not self.stop.wait(1.0):
            for s in self.socks:
                self._send(s, b"x")

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for s in self.socks:
            s.close()


def row(name: str, round_: str, rate: float, latencies: list[float], failed: int,
        extra: str = "") -> None:
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
    print(f"{name:>9} {round_:>8} {rate:>7.0f} {q[49] * 1000:>8.1f} {q[98] * 1000:>8.1f} "
          f"{failed:>7} {threading.active_count():>8} {extra}", flush=True)


def measure(name: str, server: Any, clients: int, each: int) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        row(name, "load", *load(port, clients, each))
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(300)]
        try:
            row(name, "300 idle", *load(port, clients, each))
        finally:
            for s in idle:
                s.close()
        crowd = Crowd(port, 200, 70)
        try:
            health = one_request(port, "/healthz")
            said = f"/healthz {health * 1000:.0f} ms" if health else f"/healthz > {WAIT:.0f} s"
            row(name, "attack", *load(port, 20, 10), said)
        finally:
            crowd.close()
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    clients = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    each = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    print(f"python {platform.python_version()}, {clients} clients x {each} requests")
    print(f"{'server':>9} {'round':>8} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'failed':>7}"
          f" {'threads':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "all.atom").write_bytes((ROOT / "tests" / "data" / "real" / "atom" /
                                         "planet-clojure-venus.atom").read_bytes()[:60_000])
        for name, build in CANDIDATES.items():
            measure(name, build(root), clients, each)


if __name__ == "__main__":
    main()
