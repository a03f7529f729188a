"""The I/O loop: one thread reads every request whole (head and body, within a deadline
and a size cap) and writes every answer; a few worker threads only compute answers.

A slow or idle client costs a socket and its buffer, never a worker: a crowd trickling
bytes, holding connections open or sending bodies slowly cannot keep others waiting
(waitress's channel model, with a deadline per request instead of per silence).
"""

from __future__ import annotations

import contextlib
import http.client
import io
import logging
import queue
import resource
import selectors
import socket
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from aggregator.server.handler import OutputHandler, refusal

log = logging.getLogger("aggregator.server")

MAX_THREADS = 8  # workers computing answers: files are read and gzipped, nothing waits
BACKLOG = 1024  # connections the kernel queues before refusing
REAP_EVERY = 0.25  # seconds between looks for clients over their time
MAX_HEAD = 128 * 2**10  # request line and headers (a line over 64 KiB gets its 414)
MIN_BODY_RATE = 256 * 2**10  # bytes/s a body may be sent at: its share of the deadline
BUFFERED_BODIES = 64 * 2**20  # bodies being read at once, all connections together
LINGER = 2.0  # seconds a closed connection's unread input is drained (no reset)

Answer = tuple[int, str, bytes]
# (method, path, headers) -> a refusal, before a body is read; None admits it
Admit = Callable[[str, str, Mapping[str, str]], Answer | None]


@dataclass(eq=False)
class Channel:
    sock: socket.socket
    peer: tuple[str, int]
    deadline: float  # when the request being read (or the idle wait) runs out
    inbuf: bytearray = field(default_factory=bytearray)
    out: memoryview | None = None  # the answer being written
    close_after: bool = False
    busy: bool = False  # a worker holds its request
    draining: bool = False  # answered and shut for writing: reading out what is left
    expected: int = 0  # bytes of the request whose head is read (head + body)
    reserved: int = 0  # body bytes counted in the loop's budget
    continued: bool = False  # "100 Continue" sent for this request


@dataclass(frozen=True)
class Framed:
    """A request's head read: how long the request is and how the loop treats it."""
    method: str
    path: str
    headers: Mapping[str, str]
    head: int  # bytes of the request line and headers
    body: int  # bytes of body to read before answering
    close_after: bool


class LoopServer:
    def __init__(self, address: tuple[str, int], handler: type[OutputHandler],
                 client_timeout: float, admits: Mapping[str, Admit] | None = None) -> None:
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.socket = socket.create_server(address, family=family, backlog=BACKLOG)
        self.socket.setblocking(False)
        self.server_address = self.socket.getsockname()
        self.handler = handler
        self.timeout = client_timeout
        self.admits = dict(admits or {})
        self.max_connections = _connection_limit()
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._answered: queue.SimpleQueue[tuple[Channel, bytes, bool]] = queue.SimpleQueue()
        self._workers = ThreadPoolExecutor(MAX_THREADS, thread_name_prefix="http-worker")
        self._channels: set[Channel] = set()
        self._buffered = 0
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()
        self._selector.register(self.socket, selectors.EVENT_READ, "listen")
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._listening = True

    # -- the socketserver-like surface ----------------------------------------------------

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._stopped.clear()
        try:
            while not self._stop.is_set():
                for key, mask in self._selector.select(min(poll_interval, REAP_EVERY)):
                    self._event(key.data, mask)
                self._reap(time.monotonic())
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        self._stop.set()
        self._wake()
        self._stopped.wait()

    def server_close(self) -> None:
        for ch in list(self._channels):
            self._close(ch)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(self.socket)
        self.socket.close()
        self._workers.shutdown(wait=False, cancel_futures=True)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    # -- events ---------------------------------------------------------------------------

    def _event(self, data: object, mask: int) -> None:
        if data == "listen":
            self._accept()
        elif data == "wake":
            self._take_answers()
        elif isinstance(data, Channel):
            if mask & selectors.EVENT_READ:
                self._read(data)
            if mask & selectors.EVENT_WRITE and data in self._channels:
                self._write(data)

    def _accept(self) -> None:
        while len(self._channels) < self.max_connections or self._shed_idle():
            try:
                sock, peer = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # out of descriptors, say: the backlog keeps the rest
                log.warning("cannot accept a connection: %s", e)
                return
            sock.setblocking(False)
            ch = Channel(sock, peer[:2], time.monotonic() + self.timeout)
            self._channels.add(ch)
            self._selector.register(sock, selectors.EVENT_READ, ch)
        self._listen(False)  # full: new connections wait in the backlog

    def _shed_idle(self) -> bool:
        """At the connection cap: close the kept-alive connection idle the longest (it
        holds no request), so a crowd of idle ones cannot keep new clients waiting."""
        idle = [c for c in self._channels if not (c.busy or c.inbuf or c.draining or
                                                   c.out is not None or c.expected)]
        if not idle:
            return False
        self._close(min(idle, key=lambda c: c.deadline))
        return True

    def _listen(self, on: bool) -> None:
        if on != self._listening:
            self._listening = on
            if on:
                self._selector.register(self.socket, selectors.EVENT_READ, "listen")
            else:
                self._selector.unregister(self.socket)

    def _read(self, ch: Channel) -> None:
        try:
            data = ch.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close(ch)
            return
        if ch.draining:
            return
        ch.inbuf += data
        self._next_request(ch)

    def _next_request(self, ch: Channel) -> None:
        """Hand the request to a worker once it is whole; refuse what must not be read."""
        if ch.busy or ch.out is not None or ch.draining:
            return
        if not ch.expected:
            framed = self._frame(ch)
            if framed is None:
                return
            if not self._admit(ch, framed):
                return
        if len(ch.inbuf) < ch.expected:
            return
        request = bytes(ch.inbuf[:ch.expected])
        del ch.inbuf[:ch.expected]
        ch.expected, ch.busy, ch.continued = 0, True, False
        self._watch(ch, 0)
        self._workers.submit(self._work, ch, request, ch.close_after)

    def _frame(self, ch: Channel) -> Framed | None:
        while ch.inbuf[:2] == b"\r\n" or ch.inbuf[:1] == b"\n":  # RFC 9112 2.2: ignored
            del ch.inbuf[:2 if ch.inbuf[:1] == b"\r" else 1]
        framed = frame(bytes(ch.inbuf[:MAX_HEAD + 4]))
        if framed is None and len(ch.inbuf) > MAX_HEAD:
            self._refuse(ch, 431, "request header fields too large\n")
        return framed

    def _admit(self, ch: Channel, framed: Framed) -> bool:
        """Whether the body may be read: its size, the callback's own look at the head
        (a WebSub push's id and signature header), and the loop's budget for bodies."""
        ch.close_after = framed.close_after
        ch.expected = framed.head + framed.body
        if not framed.body:
            return True
        admit = next((a for p, a in self.admits.items() if framed.path.startswith(p)), None)
        if admit is None:  # no callback reads it: answered without, then closed
            ch.expected, ch.close_after = framed.head, True
            return True
        if framed.body > self.handler.max_body:
            self._refuse(ch, 413, "body refused\n")
            return False
        refused = admit(framed.method, framed.path, framed.headers)
        if refused is not None:
            self._refuse(ch, refused[0], refused[2].decode())
            return False
        if self._buffered + framed.body > BUFFERED_BODIES:
            self._refuse(ch, 503, "busy: try again later\n")
            return False
        ch.reserved = framed.body
        self._buffered += framed.body
        ch.deadline = max(ch.deadline, time.monotonic() + self.timeout +
                          framed.body / MIN_BODY_RATE)
        if framed.headers.get("Expect", "").lower() == "100-continue" and \
                len(ch.inbuf) < ch.expected:
            self._send_now(ch, b"HTTP/1.1 100 Continue\r\n\r\n")
        return True

    def _work(self, ch: Channel, request: bytes, close_after: bool) -> None:
        """A worker thread: the answer, handed back to the loop."""
        try:
            out, close = self.handler.answer(request, ch.peer)
        except Exception:
            log.exception("answering %s failed", ch.peer[0])
            out, close = refusal(500, "internal error\n"), True
        self._answered.put((ch, out, close or close_after))
        self._wake()

    def _take_answers(self) -> None:
        with contextlib.suppress(OSError):
            while self._wake_r.recv(4096):
                pass
        while True:
            try:
                ch, out, close = self._answered.get_nowait()
            except queue.Empty:
                return
            self._buffered -= ch.reserved
            ch.reserved, ch.busy = 0, False
            if ch in self._channels:
                ch.close_after = close
                ch.out = memoryview(out)
                ch.deadline = time.monotonic() + self.timeout
                self._write(ch)

    def _write(self, ch: Channel) -> None:
        assert ch.out is not None
        try:
            sent = ch.sock.send(ch.out)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._close(ch)
            return
        ch.out = ch.out[sent:]
        if sent:
            ch.deadline = time.monotonic() + self.timeout  # a reader that reads keeps time
        if len(ch.out):
            self._watch(ch, selectors.EVENT_WRITE)
            return
        ch.out = None
        if ch.close_after:
            self._drain(ch)
            return
        ch.deadline = time.monotonic() + self.timeout  # idle until the next request
        self._watch(ch, selectors.EVENT_READ)
        self._next_request(ch)

    def _refuse(self, ch: Channel, status: int, text: str) -> None:
        ch.inbuf.clear()
        ch.expected, ch.close_after = 0, True
        ch.out = memoryview(refusal(status, text))
        self._write(ch)

    def _send_now(self, ch: Channel, data: bytes) -> None:
        with contextlib.suppress(OSError):
            ch.sock.send(data)

    def _drain(self, ch: Channel) -> None:
        """Shut for writing and read out what the client still sends, so that closing
        does not reset the connection before the client has read our answer."""
        ch.draining = True
        ch.inbuf.clear()
        ch.deadline = time.monotonic() + LINGER
        try:
            ch.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(ch)
            return
        self._watch(ch, selectors.EVENT_READ)

    def _reap(self, now: float) -> None:
        for ch in [c for c in self._channels if c.deadline < now and not c.busy]:
            self._close(ch)

    def _watch(self, ch: Channel, events: int) -> None:
        key = self._selector.get_map().get(ch.sock)
        if not events:
            if key is not None:
                self._selector.unregister(ch.sock)
        elif key is None:
            self._selector.register(ch.sock, events, ch)
        elif key.events != events:
            self._selector.modify(ch.sock, events, ch)

    def _close(self, ch: Channel) -> None:
        if ch not in self._channels:
            return
        self._channels.discard(ch)
        if not ch.busy:
            self._buffered -= ch.reserved
            ch.reserved = 0
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(ch.sock)
        ch.sock.close()
        if not self._stop.is_set():
            self._listen(True)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")


def frame(data: bytes) -> Framed | None:
    """The head of the request at the start of ``data``, or None while it is incomplete.
    A head the handler will refuse (malformed, chunked) is passed on bodiless and the
    connection closed after the answer."""
    end = min((i + len(sep) for sep in (b"\r\n\r\n", b"\n\n")
               if (i := data.find(sep)) >= 0), default=-1)
    if end < 0:
        return None
    line, _, rest = data[:end].partition(b"\n")
    words = line.decode("latin-1").split()
    method, path = (words[0], words[1]) if len(words) >= 2 else ("", "")
    try:
        message = http.client.parse_headers(io.BytesIO(rest))
    except (http.client.HTTPException, ValueError):
        return Framed(method, path, {}, end, 0, True)
    headers = {k.title(): v for k, v in message.items()}  # case as the handler's lookups
    length = headers.get("Content-Length", "").strip()
    if headers.get("Transfer-Encoding") or (length and not length.isdigit()):
        return Framed(method, path, headers, end, 0, True)
    return Framed(method, path, headers, end, int(length or 0), False)


def _connection_limit() -> int:
    """Connections held at once: what the descriptor limit leaves, at most 4,096."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(64, min(4096, soft - 128)) if soft > 0 else 4096
