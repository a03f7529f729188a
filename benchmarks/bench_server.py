"""The built-in server under 200 concurrent clients: bounded threads vs one per connection.

    .venv/bin/python benchmarks/bench_server.py [CLIENTS] [REQUESTS_EACH]

Both servers serve the same output directory with the same handler; "unbounded" is the
plain ThreadingHTTPServer the service used before (a thread per connection, backlog 5, no
client timeout). Reported per server: requests/s, median and 99th percentile latency, and
requests that got no answer within 30 s. A second round adds 300 idle connections that
never send a byte, as a crowd of stalled clients would.
"""

from __future__ import annotations

import http.client
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aggregator.server import OutputHandler, make_server  # noqa: E402


class Unbounded(ThreadingHTTPServer):
    """The server as it was: a thread per connection, backlog 5, no time limit."""

    daemon_threads = True

    def reading(self, conn: socket.socket, seconds: float | None) -> None:
        pass

    def request_read(self, conn: socket.socket) -> None:
        pass


def unbounded(root: Path) -> ThreadingHTTPServer:
    handler = type("Plain", (OutputHandler,), {"root": root, "timeout": None})
    return Unbounded(("127.0.0.1", 0), handler)


def one_request(port: int) -> float | None:
    start = time.perf_counter()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/all.atom", headers={"Accept-Encoding": "gzip"})
        resp = conn.getresponse()
        resp.read()
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


def measure(name: str, server: ThreadingHTTPServer, clients: int, each: int,
            idle: int) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    stalled = [socket.create_connection(("127.0.0.1", port)) for _ in range(idle)]
    try:
        rate, latencies, failed = load(port, clients, each)
        threads = threading.active_count()
    finally:
        for s in stalled:
            s.close()
        server.shutdown()
        server.server_close()
    q = statistics.quantiles(latencies, n=100)
    print(f"{name:>10} {idle:>5} {rate:>8.0f} {q[49] * 1000:>8.1f} {q[98] * 1000:>8.1f} "
          f"{failed:>7} {threads:>8}")


def main() -> None:
    clients = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    each = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    print(f"python {platform.python_version()}, {clients} clients x {each} requests")
    print(f"{'server':>10} {'idle':>5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'failed':>7}"
          f" {'threads':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "all.atom").write_bytes((ROOT / "tests" / "data" / "real" / "atom" /
                                         "planet-clojure-venus.atom").read_bytes()[:60_000])
        for idle in (0, 300):
            measure("unbounded", unbounded(root), clients, each, idle)
            measure("bounded", make_server(root, "127.0.0.1", 0, client_timeout=2.0),
                    clients, each, idle)


if __name__ == "__main__":
    main()
