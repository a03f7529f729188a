"""requests/urllib3 plumbing: guarded connections and a wall-clock deadline per request.

- Every connection urllib3 opens goes through NetworkPolicy.connect (netguard.py).
- requests' timeout is per socket operation: a server trickling a byte a second never trips
  it. A Deadline shuts the socket of the request's connection down when the whole request
  is over time, which ends any blocked read at once. One watchdog thread keeps every
  request's deadline (a timer thread started per request was a tenth of a quiet cycle).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from aggregator.ingest.netguard import AddressDenied, NetworkPolicy

_local = threading.local()


class Deadline:
    """Shuts the request's sockets down when ``seconds`` have passed.

    The sockets are remembered, not only the connection: for a body delimited by the close
    of the connection (HTTP/1.0, no Content-Length), http.client detaches the socket from
    the connection and the response alone reads from it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self.denied: str | None = None
        self.done = False  # the request ended: the watchdog forgets it
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def attach(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shutdown(sock)

    def finish(self) -> None:
        """The request ended: the watchdog forgets it, and it holds no socket meanwhile."""
        with self._lock:
            self.done = True
            self._sockets.clear()

    def _expire(self) -> None:
        with self._lock:
            if self.done:  # ended while the watchdog took it from the front
                return
            self.expired = True
            for sock in self._sockets:
                _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread expiring the deadlines that come due, soonest first; a deadline
    whose request ended is dropped when it reaches the front."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Deadline]] = []
        self._changed = threading.Condition()
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, d: Deadline) -> None:
        with self._changed:
            heapq.heappush(self._due, (time.monotonic() + d.seconds, next(self._order), d))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="deadlines",
                                                daemon=True)
                self._thread.start()
            if self._due[0][2] is d:  # sooner than the one the thread sleeps for
                self._changed.notify()

    def _run(self) -> None:
        while True:
            with self._changed:
                while self._due and self._due[0][2].done:
                    heapq.heappop(self._due)
                wait = self._due[0][0] - time.monotonic() if self._due else None
                if wait is None or wait > 0:
                    self._changed.wait(wait)
                    continue
                _, _, d = heapq.heappop(self._due)
            d._expire()


_watchdog = _Watchdog()


def _forked() -> None:  # a child has none of its parent's threads, and maybe a held lock
    global _watchdog
    _watchdog = _Watchdog()


os.register_at_fork(after_in_child=_forked)


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[Deadline]:
    """Run a request (and the reading of its body) under a wall-clock deadline."""
    d = Deadline(seconds)
    _local.deadline = d
    _watchdog.watch(d)
    try:
        yield d
    finally:
        d.finish()
        _local.deadline = None


def _current() -> Deadline | None:
    return getattr(_local, "deadline", None)


class _GuardedMixin:
    """Overrides urllib3's socket creation with the policy's checked connect."""

    policy: NetworkPolicy
    host: str
    port: int
    timeout: Any
    source_address: tuple[str, int] | None
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        current = _current()
        try:
            sock = self.policy.connect(self._dns_host, self.port, self.timeout,  # type: ignore[attr-defined]
                                       self.source_address, self.socket_options)
        except AddressDenied as e:
            if current is not None:
                current.denied = str(e)
            raise
        if current is not None:
            current.attach(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        current = _current()
        if current is not None:  # a reused connection: its socket is this request's too
            current.attach(getattr(self, "sock", None))
        super().request(*args, **kwargs)  # type: ignore[misc]
        if current is not None:  # a new one: TLS wraps the connected socket in a new one
            current.attach(getattr(self, "sock", None))


class GuardedAdapter(HTTPAdapter):
    """An HTTPAdapter whose pools open only connections the policy allows."""

    def __init__(self, policy: NetworkPolicy, **kwargs: Any) -> None:
        self.policy = policy
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.policy)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _pool_classes(self.policy)
        return manager


def _pool_classes(policy: NetworkPolicy) -> dict[str, type[HTTPConnectionPool]]:
    http_conn = type("GuardedHTTPConnection", (_GuardedMixin, HTTPConnection),
                     {"policy": policy})
    https_conn = type("GuardedHTTPSConnection", (_GuardedMixin, HTTPSConnection),
                      {"policy": policy})
    return {
        "http": type("GuardedHTTPConnectionPool", (HTTPConnectionPool,),
                     {"ConnectionCls": http_conn}),
        "https": type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,),
                      {"ConnectionCls": https_conn}),
    }
