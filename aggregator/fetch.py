"""HTTP policy for polling sources: conditional GET, limits, plain-words errors.

The full politeness policy (backoff hints, Retry-After, redirects adoption, SSRF guard) grows
here; every outcome is a value (Fetched / NotModified) or a FetchError naming the cause.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import requests

from . import __version__
from .config import Settings, SourceSettings
from .exceptions import FetchError
from .models import Fetched, NotModified, SourceState

ACCEPT = ("application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
          "application/feed+json;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1")
CONNECT_TIMEOUT = 10.0
CHUNK = 16 * 1024


def user_agent(contact: str | None) -> str:
    extra = f"; +{contact}" if contact else ""
    return f"lrg-aggregator/{__version__} (feed aggregator{extra})"


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass
class Fetcher:
    """Fetches one source at a time; shares one connection pool across threads."""

    settings: Settings
    session: requests.Session

    @classmethod
    def create(cls, settings: Settings) -> Fetcher:
        session = requests.Session()
        session.trust_env = False  # ignore proxy variables: no proxy unless configured on purpose
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=settings.poll.workers)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update({"User-Agent": user_agent(settings.hub.contact),
                                "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"})
        return cls(settings, session)

    def close(self) -> None:
        self.session.close()

    def fetch(self, source: SourceSettings, state: SourceState | None) -> Fetched | NotModified:
        result = self._read_file(source) if source.path else self._get(source, state)
        if isinstance(result, Fetched) and state and state.body_hash == body_hash(result.body):
            return NotModified(status=result.status)  # same bytes as last time
        return result

    def _read_file(self, source: SourceSettings) -> Fetched:
        assert source.path is not None
        try:
            size = source.path.stat().st_size
            if size > self.settings.poll.max_bytes:
                raise FetchError(f"file is {size} bytes, over poll.max_bytes")
            return Fetched(url=source.path.as_uri(), body=source.path.read_bytes(), status=None)
        except OSError as e:
            raise FetchError(f"cannot read {source.path}: {e.strerror or e}") from e

    def _get(self, source: SourceSettings, state: SourceState | None) -> Fetched | NotModified:
        assert source.url is not None
        headers = {}
        # RFC 9110 13.1: validators are echoed back verbatim.
        if state and state.etag:
            headers["If-None-Match"] = state.etag
        if state and state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        timeout = self.settings.poll.timeout.total_seconds()
        try:
            with self.session.get(source.url, headers=headers, stream=True,
                                  timeout=(min(CONNECT_TIMEOUT, timeout), timeout)) as resp:
                return self._response(resp, time.monotonic() + timeout)
        except requests.exceptions.SSLError as e:
            raise FetchError(f"TLS error: {_reason(e)}") from e
        except requests.exceptions.Timeout as e:
            raise FetchError(f"timed out after {timeout:g}s") from e
        except requests.exceptions.ConnectionError as e:
            raise FetchError(f"connection failed: {_reason(e)}") from e
        except requests.exceptions.RequestException as e:
            raise FetchError(f"request failed: {_reason(e)}") from e

    def _response(self, resp: requests.Response, deadline: float) -> Fetched | NotModified:
        if resp.status_code == 304:
            resp.content  # noqa: B018 -- drain so the connection goes back to the pool
            return NotModified()
        if resp.status_code != 200:
            raise FetchError(f"HTTP {resp.status_code} {resp.reason or ''}".strip(),
                             status=resp.status_code)
        limit = self.settings.poll.max_bytes
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(f"body of {declared} bytes is over poll.max_bytes ({limit})", 200)
        return Fetched(url=resp.url, body=_read_capped(resp, limit, deadline),
                       content_type=resp.headers.get("Content-Type"),
                       etag=resp.headers.get("ETag"),
                       last_modified=resp.headers.get("Last-Modified"))


def _read_capped(resp: requests.Response, limit: int, deadline: float) -> bytes:
    """Read the decoded body, stopping at ``limit`` bytes and at the wall-clock deadline."""
    chunks: list[bytes] = []
    size = 0
    for chunk in resp.iter_content(CHUNK):
        size += len(chunk)
        if size > limit:
            raise FetchError(f"body is over poll.max_bytes ({limit} bytes)", 200)
        if time.monotonic() > deadline:
            raise FetchError("timed out while reading the body", 200)
        chunks.append(chunk)
    return b"".join(chunks)


def _reason(e: Exception) -> str:
    text = str(e)
    return text if len(text) < 300 else text[:297] + "..."
