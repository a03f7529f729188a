"""WebSub publisher (https://www.w3.org/TR/websub/ section 7): after each build, tell the
configured hub which feeds changed, so subscribers get them pushed.

One `hub.mode=publish` POST per changed feed URL, retried with exponential backoff; what
happened is kept for status.json. The hub is configured by the operator (`hub.websub_hub`),
so it is reached directly, without the third-party network guard.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import requests

from aggregator.dates import iso
from aggregator.version import __version__

log = logging.getLogger("aggregator.websub")

ATTEMPTS = 3
FIRST_BACKOFF = 1.0  # seconds; doubled after each failed attempt


@dataclass
class WebSubPublisher:
    hub: str
    clock: Callable[[], datetime]
    backoff: float = FIRST_BACKOFF
    sleep: Callable[[float], None] = time.sleep
    session: requests.Session = field(default_factory=requests.Session)
    last_ping: datetime | None = None
    last_error: str | None = None
    failures: int = 0
    pending: list[str] = field(default_factory=list)  # URLs whose ping failed: retried next

    def __post_init__(self) -> None:
        self.session.trust_env = False
        self.session.headers["User-Agent"] = f"lrg-aggregator/{__version__} (WebSub publisher)"

    def publish(self, urls: Iterable[str]) -> None:
        todo = list(dict.fromkeys([*self.pending, *urls]))
        self.pending = [url for url in todo if not self._ping(url)]

    def _ping(self, url: str) -> bool:
        wait = self.backoff
        for attempt in range(1, ATTEMPTS + 1):
            error = self._post(url)
            self.last_ping = self.clock()
            if error is None:
                self.last_error, self.failures = None, 0
                return True
            self.last_error, self.failures = f"{url}: {error}", self.failures + 1
            log.warning("websub: ping %d/%d for %s failed: %s", attempt, ATTEMPTS, url, error)
            if attempt < ATTEMPTS:
                self.sleep(wait)
                wait *= 2
        return False

    def _post(self, url: str) -> str | None:
        try:
            resp = self.session.post(self.hub, data={"hub.mode": "publish", "hub.url": url},
                                     timeout=10)
        except requests.RequestException as e:
            return f"{type(e).__name__}: {e}"
        resp.close()
        return None if 200 <= resp.status_code < 300 else f"HTTP {resp.status_code}"

    def status(self) -> dict[str, object]:
        return {"hub": self.hub, "last_ping": iso(self.last_ping), "last_error": self.last_error,
                "consecutive_failures": self.failures, "pending": list(self.pending)}
