"""A deterministic network of feeds served from 127.0.0.1, for benchmarks/vs_reader.py.

N feeds of the look-alike network (tests/support/lookalike.py: en/fr/es/pt, RSS 2.0 / Atom /
RSS 1.0, partners cross-posting members' stories), some RSS items without ids and some without
dates, served with ETag and Last-Modified (304 when unchanged) and gzip when asked.

    GET  /feeds/<file>   a feed
    POST /_mutate        3 new entries in 10 % of the feeds (the same feeds for a given round)
    POST /_mutate?feeds=K  3 new entries in each of the first K member feeds (the same K
                         towns whatever N: the cost of one small change, N against N)
    POST /_reset         back to the first version of every feed
    GET  /_stats         {"requests", "ok", "not_modified", "connections", "entries"}

Run alone (``python benchmarks/feed_network.py N``) it serves until interrupted.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
import sys
import threading
from dataclasses import replace
from datetime import timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import lookalike  # noqa: E402

PARTNERS = 12
MUTATED_SHARE = 0.10
NEW_PER_MUTATION = 3


def per_feed(feeds: int) -> int:
    """Entries per member feed so that N=200 holds about 7,500 entries (partners add ~12 %)."""
    return 36 if feeds >= 50 else 10


class Network:
    def __init__(self, feeds: int, seed: int = 7) -> None:
        self.size = feeds
        self.seed = seed
        self.lock = threading.Lock()
        self.stats = {"requests": 0, "ok": 0, "not_modified": 0, "connections": 0}
        self.fetched: dict[str, int] = {}  # requests per feed file
        self.reset()

    def reset(self) -> None:
        members = max(1, self.size - PARTNERS)
        feeds = lookalike.network(members=members, partners=min(PARTNERS, self.size - members)
                                  or 1, per_feed=per_feed(self.size), seed=self.seed)
        with self.lock:
            self.feeds = {f.file_name: f for f in feeds[:self.size]}
            self.version = {name: 0 for name in self.feeds}
            self.rounds = 0
            self.bodies = {name: self._render(f) for name, f in self.feeds.items()}

    def mutate(self, first: int | None = None) -> int:
        """New entries in a tenth of the feeds, or in the ``first`` member feeds; how many
        entries were added."""
        with self.lock:
            self.rounds += 1
            rng = random.Random(f"{self.seed}-{self.rounds}")
            names = sorted(n for n, f in self.feeds.items() if f.items)
            if first is None:
                chosen = rng.sample(names, max(1, int(len(names) * MUTATED_SHARE)))
            else:  # members come first, in the order the network made them
                chosen = [n for n, f in self.feeds.items() if f.kind == "member"][:first]
            for name in chosen:
                feed = self.feeds[name]
                latest = max(i.published for i in feed.items)
                for k in range(NEW_PER_MUTATION):
                    n = len(feed.items)
                    template = feed.items[k % len(feed.items)]
                    feed.items.append(replace(
                        template, story=f"{feed.source_id}/new/{n}",
                        guid=f"{feed.source_id}/{n}", link=f"{feed.home}news/{n}-update",
                        title=f"{template.title} ({self.rounds}.{k})",
                        published=latest + timedelta(hours=k + 1)))
                self.version[name] += 1
                self.bodies[name] = self._render(feed)
            return len(chosen) * NEW_PER_MUTATION

    def entries(self) -> int:
        with self.lock:
            return sum(len(f.items) for f in self.feeds.values())

    def _render(self, feed: lookalike.Feed) -> bytes:
        body = lookalike.render(feed).decode()
        if feed.format == "rss2":  # real feeds: some items without ids, some without dates
            items = body.split("<item>")
            for n in range(1, len(items)):
                if n % 7 == 3:
                    items[n] = re.sub(r"<guid[^>]*>.*?</guid>", "", items[n], count=1)
                if n % 11 == 5:
                    items[n] = re.sub(r"<pubDate>.*?</pubDate>", "", items[n], count=1)
            body = "<item>".join(items)
        return body.encode()


def handler_for(network: Network) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

        def setup(self) -> None:
            super().setup()
            with network.lock:
                network.stats["connections"] += 1

        def do_GET(self) -> None:
            if self.path == "/_stats":
                with network.lock:
                    stats: dict[str, Any] = dict(network.stats)
                stats["entries"] = network.entries()
                self._reply(200, json.dumps(stats).encode(), {"Content-Type": "application/json"})
                return
            name = self.path.removeprefix("/feeds/")
            with network.lock:
                network.stats["requests"] += 1
                network.fetched[name] = network.fetched.get(name, 0) + 1
                body, version = network.bodies.get(name), network.version.get(name)
            if body is None:
                self._reply(404, b"", {})
                return
            etag = f'"{hashlib.sha1(body).hexdigest()[:16]}"'
            headers = {"ETag": etag, "Last-Modified": formatdate(1767225600 + 3600 * (
                version or 0), usegmt=True), "Content-Type": "application/xml"}
            if self.headers.get("If-None-Match") == etag:
                with network.lock:
                    network.stats["not_modified"] += 1
                self._reply(304, b"", headers)
                return
            with network.lock:
                network.stats["ok"] += 1
            if "gzip" in self.headers.get("Accept-Encoding", ""):
                body, headers["Content-Encoding"] = gzip.compress(body, mtime=0), "gzip"
            self._reply(200, body, headers)

        def do_POST(self) -> None:
            path, _, query = self.path.partition("?")
            if path == "/_mutate":
                first = int(query.removeprefix("feeds=")) if query.startswith("feeds=") else None
                added = network.mutate(first)
                self._reply(200, json.dumps({"added": added}).encode(), {})
            elif path == "/_reset":
                network.reset()
                with network.lock:
                    network.stats = dict.fromkeys(network.stats, 0)
                self._reply(200, b"{}", {})
            else:
                self._reply(404, b"", {})

        def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def serve(network: Network, port: int = 0) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(network))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    return server


if __name__ == "__main__":
    net = Network(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
    srv = serve(net, int(sys.argv[2]) if len(sys.argv) > 2 else 8800)
    print(f"{len(net.feeds)} feeds, {net.entries()} entries at "
          f"http://127.0.0.1:{srv.server_address[1]}/feeds/")
    threading.Event().wait()
