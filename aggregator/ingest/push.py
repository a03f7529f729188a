"""WebSub subscriber (https://www.w3.org/TR/websub/ sections 5-8): members' hubs push to us.

A source whose feed names a hub (``<link rel="hub">`` with ``rel="self"`` in Atom or RSS,
JSON Feed ``hubs``, or ``Link`` headers) is subscribed with the callback
``<hub.base_url>websub/<source-id>`` and a secret of its own, renewed before its lease ends.
The hub's verification GET is answered (``hub.challenge`` echoed) only for a subscription we
asked for, with the same topic. A push is accepted only when ``X-Hub-Signature-256`` (or
``X-Hub-Signature``) is the HMAC of the body with that secret; it is then ingested through
the same parse/normalize/dedup path as a poll, between cycles. Polling goes on, less often.

The server thread (callbacks) and the scheduler thread share this object; its lock guards
its state, and only the scheduler thread touches the store.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from aggregator.models import SourceState, WebSubState

log = logging.getLogger("aggregator.websub")

LEASE = timedelta(days=10)  # asked for; the hub decides
RENEW_BEFORE = timedelta(days=1)  # renewed when less than this is left
ASK_AGAIN = timedelta(hours=1)  # a subscription never verified is asked for again after this
ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384,
              "sha512": hashlib.sha512}

Answer = tuple[int, str, bytes]  # HTTP status, content type, body
TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Push:
    source_id: str
    body: bytes
    content_type: str | None


class Subscriber:
    def __init__(self, base_url: str, clock: Callable[[], datetime]) -> None:
        self.base_url = base_url
        self.clock = clock
        self._lock = threading.Lock()
        self._subs: dict[str, WebSubState] = {}
        self._changed: set[str] = set()
        self._pushes: list[Push] = []
        self.rejected = 0

    def load(self, states: Mapping[str, SourceState]) -> None:
        with self._lock:
            self._subs = {sid: s.websub for sid, s in states.items() if s.websub}

    def callback(self, source_id: str) -> str:
        return f"{self.base_url}websub/{source_id}"

    def wanted(self, state: SourceState, now: datetime) -> WebSubState | None:
        """The subscription to ask the source's hub for now, if one is due."""
        hub, topic = (state.feed.hub, state.feed.self_link) if state.feed else (None, None)
        if not hub or not topic:
            return None
        with self._lock:
            current = self._subs.get(state.source_id)
        if current is None or (current.hub, current.topic) != (hub, topic):
            return WebSubState(hub, topic, secrets.token_hex(32), requested=now)
        if current.status == "active" and current.expires and current.expires - now > \
                RENEW_BEFORE:
            return None
        if current.status != "active" and current.requested and now - current.requested < \
                ASK_AGAIN:
            return None
        return replace(current, requested=now)  # renew (same secret), or ask again

    def asked(self, source_id: str, sub: WebSubState) -> WebSubState:
        """Record a subscription request the hub accepted; a renewal stays active until
        the hub verifies it again. What is now kept for the source."""
        with self._lock:
            old = self._subs.get(source_id)
            renewal = old is not None and old.status == "active" and old.topic == sub.topic
            kept = replace(sub, status="active", expires=old.expires) if renewal and old \
                else replace(sub, status="pending")
            self._subs[source_id] = kept
        return kept

    def form(self, source_id: str, sub: WebSubState) -> dict[str, str]:
        return {"hub.mode": "subscribe", "hub.topic": sub.topic,
                "hub.callback": self.callback(source_id), "hub.secret": sub.secret,
                "hub.lease_seconds": str(int(LEASE.total_seconds()))}

    # -- the server thread -------------------------------------------------------------------

    def verify(self, source_id: str, query: Mapping[str, str]) -> Answer:
        """The hub's GET: echo the challenge only for our own subscription to that topic."""
        mode, topic = query.get("hub.mode"), query.get("hub.topic")
        with self._lock:
            sub = self._subs.get(source_id)
            if sub is None or topic != sub.topic:
                return 404, TEXT, b"no such subscription\n"
            if mode == "denied":
                self._subs[source_id] = replace(sub, status="denied")
                self._changed.add(source_id)
                log.warning("source %s: hub %s denied the subscription: %s", source_id,
                            sub.hub, query.get("hub.reason", "no reason given"))
                return 200, TEXT, b"ok\n"
            if mode != "subscribe" or not query.get("hub.challenge"):
                return 404, TEXT, b"not a subscription we asked for\n"
            lease = _seconds(query.get("hub.lease_seconds"))
            self._subs[source_id] = replace(sub, status="active", expires=self.clock() +
                                            timedelta(seconds=lease or LEASE.total_seconds()))
            self._changed.add(source_id)
        log.info("source %s: subscribed at %s", source_id, sub.hub)
        return 200, TEXT, query["hub.challenge"].encode()

    def admit(self, source_id: str, headers: Mapping[str, str]) -> Answer | None:
        """A push's head, before its body is read: refused unless it is for an active
        subscription and carries a signature we can check (a body is read only then)."""
        with self._lock:
            sub = self._subs.get(source_id)
            algorithm, given = _algorithm(headers)
            if sub is not None and sub.status == "active" and algorithm and given:
                return None
            self.rejected += 1
        log.warning("source %s: push refused before its body (unknown subscription, or no "
                    "signature we can check)", source_id)
        return 403, TEXT, b"signature missing or wrong\n"

    def push(self, source_id: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        """The hub's POST: accepted (for the scheduler to ingest) only when signed by us."""
        with self._lock:
            sub = self._subs.get(source_id)
            signed = sub is not None and sub.status == "active" and _signed(
                sub.secret, body, headers)
            if not signed:
                self.rejected += 1
                log.warning("source %s: push rejected (unknown subscription, or a missing or "
                            "wrong signature)", source_id)
                return 403, TEXT, b"signature missing or wrong\n"
            self._pushes.append(Push(source_id, body, headers.get("Content-Type")))
        return 202, TEXT, b"accepted\n"

    # -- the scheduler thread ----------------------------------------------------------------

    def take_pushes(self) -> list[Push]:
        with self._lock:
            pushes, self._pushes = self._pushes, []
        return pushes

    def take_changed(self) -> dict[str, WebSubState]:
        with self._lock:
            changed = {sid: self._subs[sid] for sid in self._changed if sid in self._subs}
            self._changed.clear()
        return changed


def _signed(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """X-Hub-Signature-256 (or the older X-Hub-Signature): ``<algorithm>=<hex HMAC>``."""
    algorithm, given = _algorithm(headers)
    if algorithm is None or not given:
        return False
    expected = hmac.new(secret.encode(), body, algorithm).hexdigest()
    return hmac.compare_digest(expected, given.strip().lower())


def _algorithm(headers: Mapping[str, str]) -> tuple[Any, str]:
    """The signature header's hash function (None: absent or unknown) and its hex value."""
    value = headers.get("X-Hub-Signature-256") or headers.get("X-Hub-Signature") or ""
    method, _, given = value.partition("=")
    return ALGORITHMS.get(method.strip().lower()), given


def _seconds(value: str | None) -> int | None:
    try:
        return max(0, int(value or ""))
    except ValueError:
        return None
