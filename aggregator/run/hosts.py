"""Per-host politeness across every worker on every machine, in Redis: at most
``poll.per_host`` fetches to one host at once, and a host that answered 429/503 with
Retry-After is left alone by all of them until then."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

SLOT_TTL = 120  # seconds: a slot held by a worker that died frees itself


class HostGate:
    def __init__(self, redis: Any, per_host: int, prefix: str = "aggregator") -> None:
        self.redis = redis
        self.per_host = per_host
        self.prefix = prefix

    def acquire(self, host: str) -> bool:
        """Take one of the host's fetch slots; False when all are taken."""
        key = f"{self.prefix}:slots:{host}"
        taken = int(self.redis.incr(key))
        self.redis.expire(key, SLOT_TTL)
        if taken > self.per_host:
            self.redis.decr(key)
            return False
        return True

    def release(self, host: str) -> None:
        key = f"{self.prefix}:slots:{host}"
        if int(self.redis.decr(key)) < 0:  # its slot expired meanwhile
            self.redis.set(key, 0, ex=SLOT_TTL)

    def hold(self, host: str, until: datetime) -> None:
        """Every worker leaves ``host`` alone until ``until`` (a later hold wins)."""
        key = f"{self.prefix}:hold:{host}"
        stamp = until.timestamp()
        current = self.redis.get(key)
        if current is None or float(current) < stamp:
            self.redis.set(key, str(stamp), pxat=int(stamp * 1000))

    def held_until(self, host: str, now: datetime) -> datetime | None:
        found = self.redis.get(f"{self.prefix}:hold:{host}")
        if found is None:
            return None
        until = datetime.fromtimestamp(float(found), UTC)
        return until if until > now else None
