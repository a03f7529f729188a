"""Whole-request deadlines are kept by one watchdog thread, not a timer thread per request
(tests/test_fetch.py cuts a trickling server at its deadline over real HTTP)."""

from __future__ import annotations

import contextlib
import socket
import threading

from aggregator.ingest.transport import deadline


def test_a_deadline_shuts_its_sockets_when_due_and_an_ended_one_never() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        with deadline(0.05) as ended:
            pass  # a request that finished in time
        with deadline(0.2) as running:
            running.attach(ours)
            assert ours.recv(1) == b""  # blocked until the deadline shut the socket down
        assert running.expired
        assert not ended.expired


def test_many_requests_share_one_thread() -> None:
    with deadline(30):
        pass  # the watchdog exists from the first request on
    before = threading.active_count()
    with contextlib.ExitStack() as requests_in_flight:
        for _ in range(50):
            requests_in_flight.enter_context(deadline(30))
        assert threading.active_count() == before
