"""The subscription rules of the WebSub subscriber, without a network: when to ask a hub,
which verifications to answer, which pushes to take."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from aggregator.ingest.push import ASK_AGAIN, RENEW_BEFORE, Subscriber
from aggregator.models import FeedMeta, SourceState

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HUB, TOPIC = "https://hub.example/", "https://city.example/feed"


def state(hub: str | None = HUB, topic: str | None = TOPIC) -> SourceState:
    return SourceState("city", feed=FeedMeta(title="City", hub=hub, self_link=topic))


LEASE = 10 * 86400


def active(sub: Subscriber) -> None:
    """The hub verifies our (pending, or first) subscription with a ten-day lease."""
    want = sub.wanted(state(), NOW)
    if want is not None:
        sub.asked("city", want)
    assert sub.verify("city", {"hub.mode": "subscribe", "hub.topic": TOPIC,
                               "hub.challenge": "x", "hub.lease_seconds": str(LEASE)})[0] == 200


def test_a_feed_without_a_hub_or_a_self_link_is_not_subscribed() -> None:
    sub = Subscriber("https://agg.example/", lambda: NOW)
    assert sub.wanted(state(hub=None), NOW) is None
    assert sub.wanted(state(topic=None), NOW) is None


def test_asked_once_then_again_only_after_a_while_then_renewed_before_the_lease_ends() -> None:
    sub = Subscriber("https://agg.example/", lambda: NOW)
    first = sub.wanted(state(), NOW)
    assert first is not None and len(first.secret) == 64
    assert sub.form("city", first)["hub.callback"] == "https://agg.example/websub/city"
    sub.asked("city", first)
    assert sub.wanted(state(), NOW + ASK_AGAIN / 2) is None  # pending: not asked again yet
    again = sub.wanted(state(), NOW + ASK_AGAIN)
    assert again is not None and again.secret == first.secret
    sub.asked("city", again)
    active(sub)
    lease_end = NOW + timedelta(seconds=LEASE)
    assert sub.wanted(state(), lease_end - RENEW_BEFORE - timedelta(minutes=1)) is None
    renewal = sub.wanted(state(), lease_end - RENEW_BEFORE + timedelta(minutes=1))
    assert renewal is not None and renewal.secret == first.secret
    assert sub.asked("city", renewal).status == "active"  # active until the hub verifies
    moved = sub.wanted(replace(state(), feed=FeedMeta(hub=HUB, self_link=TOPIC + "2")), NOW)
    assert moved is not None and moved.secret != first.secret  # a new topic, a new secret


def test_only_our_own_subscription_is_verified() -> None:
    sub = Subscriber("https://agg.example/", lambda: NOW)
    assert sub.verify("city", {"hub.mode": "subscribe", "hub.topic": TOPIC,
                               "hub.challenge": "x"})[0] == 404  # never asked
    want = sub.wanted(state(), NOW)
    assert want is not None
    sub.asked("city", want)
    for query in ({"hub.mode": "subscribe", "hub.topic": "https://other.example/",
                   "hub.challenge": "x"},
                  {"hub.mode": "unsubscribe", "hub.topic": TOPIC, "hub.challenge": "x"},
                  {"hub.mode": "subscribe", "hub.topic": TOPIC}):
        assert sub.verify("city", query)[0] == 404, query
    assert sub.verify("city", {"hub.mode": "subscribe", "hub.topic": TOPIC,
                               "hub.challenge": "c-1"}) == (200, "text/plain; charset=utf-8",
                                                            b"c-1")
    assert sub.take_changed()["city"].status == "active"


def test_pushes_need_the_subscriptions_signature() -> None:
    sub = Subscriber("https://agg.example/", lambda: NOW)
    active(sub)
    early = sub.wanted(state(), NOW + timedelta(days=5))  # 5 of 10 days: not yet
    body = b"<feed/>"
    key = sub._subs["city"].secret.encode()
    good = hmac.new(key, body, hashlib.sha256).hexdigest()
    old_style = hmac.new(key, body, hashlib.sha1).hexdigest()
    assert sub.push("city", body, {"X-Hub-Signature-256": f"sha256={good}"})[0] == 202
    assert sub.push("city", body, {"X-Hub-Signature": f"sha1={old_style}"})[0] == 202
    assert sub.push("city", body, {})[0] == 403
    assert sub.push("city", body + b" ", {"X-Hub-Signature-256": f"sha256={good}"})[0] == 403
    assert sub.push("city", body, {"X-Hub-Signature-256": f"md5={good}"})[0] == 403
    assert sub.push("nobody", body, {"X-Hub-Signature-256": f"sha256={good}"})[0] == 403
    assert [p.body for p in sub.take_pushes()] == [body, body] and sub.rejected == 4
    assert early is None  # an active subscription far from its lease end is left alone


def test_a_push_head_is_admitted_only_for_an_active_subscription_with_a_signature() -> None:
    sub = Subscriber("https://agg.example/", lambda: NOW)
    active(sub)
    assert sub.admit("city", {"X-Hub-Signature-256": "sha256=ab"}) is None
    assert sub.admit("city", {"X-Hub-Signature": "sha1=ab"}) is None
    assert sub.admit("city", {})[0] == 403  # type: ignore[index]
    assert sub.admit("city", {"X-Hub-Signature-256": "md5=ab"})[0] == 403  # type: ignore[index]
    assert sub.admit("city", {"X-Hub-Signature-256": "sha256="})[0] == 403  # type: ignore[index]
    assert sub.admit("nobody", {"X-Hub-Signature-256": "sha256=ab"})[0] == 403  # type: ignore[index]
    assert sub.rejected == 4
