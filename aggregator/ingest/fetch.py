"""HTTP policy for polling sources: a good citizen toward publishers, safe for us.

- Conditional GET: validators stored per source and echoed byte for byte (RFC 9110 13.1);
  a body identical to the last one counts as not modified even without validators.
- Redirects followed by hand, at most 5, each hop http(s) only and through the network
  guard; the target of leading 301/308 hops is reported so the poller can adopt it.
- Limits: connect and read timeouts, a wall-clock deadline for the whole request, and a cap
  on the decoded body (Content-Length refused up front; gzip bombs stopped while streaming).
- Freshness hints (Cache-Control max-age, Expires) and Retry-After are returned as seconds.
Every outcome is a Fetched / NotModified value or a FetchError in plain words.
"""

from __future__ import annotations

import base64
import functools
import logging
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import requests

from aggregator.config import Settings, SourceSettings
from aggregator.errors import ConfigError, FetchError
from aggregator.ingest.netguard import NetworkPolicy, Resolver
from aggregator.ingest.transport import Deadline, GuardedAdapter, deadline
from aggregator.models import Fetched, NotModified, SourceState
from aggregator.schedule import body_hash, poll_url
from aggregator.version import __version__

log = logging.getLogger("aggregator.fetch")
ACCEPT = ("application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
          "application/feed+json;q=0.9, application/json;q=0.8, application/xml;q=0.8, "
          "text/xml;q=0.8, */*;q=0.1")
CONNECT_TIMEOUT = 10.0
CHUNK = 16 * 1024
DISCARD_BYTES = 64 * 1024  # of a redirect's body, read only to reuse the connection
MAX_REDIRECTS = 5
MAX_RETRY_AFTER = 7 * 86400  # seconds; a server cannot park a source for longer
REDIRECTS = {301, 302, 303, 307, 308}
PERMANENT = {301, 308}
_CODINGS = {"gzip", "x-gzip", "deflate"}  # what Accept-Encoding asks for
_NO_STORE = re.compile(r"(?:^|,)\s*no-store\s*(?:,|$)", re.IGNORECASE)
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)

def user_agent(contact: str | None) -> str:
    extra = f"; +{contact}" if contact else ""
    return f"lrg-aggregator/{__version__} (feed aggregator{extra})"


@dataclass
class Fetcher:
    """Fetches one source at a time; one session (connection pool) shared across threads."""

    settings: Settings
    session: requests.Session
    clock: Callable[[], datetime]

    @classmethod
    def create(cls, settings: Settings, resolver: Resolver | None = None,
               clock: Callable[[], datetime] | None = None) -> Fetcher:
        poll = settings.poll
        policy = NetworkPolicy.from_settings(poll.allow_private_networks, poll.allow_hosts,
                                             resolver)
        session = requests.Session()
        session.trust_env = False  # proxy variables are ignored; poll.proxy is the only proxy
        session.verify = True  # always; a TLS error is reported, never retried insecurely
        if poll.proxy:
            session.proxies = {"http": poll.proxy, "https": poll.proxy}
        adapter = GuardedAdapter(policy, pool_connections=poll.workers,
                                 pool_maxsize=poll.per_host, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update({"User-Agent": user_agent(settings.hub.contact),
                                "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"})
        return cls(settings, session, clock or (lambda: datetime.now(UTC)))

    def close(self) -> None:
        self.session.close()

    def fetch(self, source: SourceSettings, state: SourceState | None) -> Fetched | NotModified:
        url = poll_url(source, state)
        result = self._get(url, state, _own_headers(source)) if url else \
            self._read_file(source)
        if isinstance(result, Fetched) and state and state.body_hash == body_hash(result.body):
            return NotModified(status=result.status, permanent_url=result.permanent_url,
                               max_age=result.max_age, etag=result.etag,
                               last_modified=result.last_modified, warning=result.warning)
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

    def post_form(self, url: str, form: dict[str, str]) -> int:
        """One form POST (a WebSub subscription request) through the same network guard
        and deadline; redirects are not followed. The HTTP status."""
        seconds = self.settings.poll.timeout.total_seconds()
        with deadline(seconds) as d:
            try:
                request = self.session.prepare_request(requests.Request("POST", url, data=form))
                resp = self.session.get_adapter(url).send(
                    request, stream=True, timeout=(min(CONNECT_TIMEOUT, seconds), seconds),
                    verify=True, proxies=self.session.proxies)
                _discard(resp)
                return int(resp.status_code)
            except requests.exceptions.RequestException as e:
                raise _explain(e, d) from e
            except OSError as e:
                raise _explain(e, d) from e

    # -- HTTP --------------------------------------------------------------------------------

    def _get(self, url: str, state: SourceState | None, own: dict[str, str] | None = None
             ) -> Fetched | NotModified:
        seconds = self.settings.poll.timeout.total_seconds()
        with deadline(seconds) as d:
            try:
                return self._follow(url, state, d, own or {})
            except FetchError:
                raise
            except requests.exceptions.RequestException as e:
                raise _explain(e, d) from e
            except OSError as e:  # a socket shut down by the deadline, mid-read
                raise _explain(e, d) from e

    def _follow(self, url: str, state: SourceState | None, d: Deadline,
                own: dict[str, str]) -> Fetched | NotModified:
        """``own``: the source's headers (its user agent, credentials): sent to the
        configured origin only, never to where a redirect leads elsewhere."""
        headers = _conditional(state)
        origin = _origin(url)
        seen = {url}
        permanent: str | None = None
        warning: str | None = None
        leading_permanent = True
        for _ in range(MAX_REDIRECTS + 1):
            _check_scheme(url)
            resp = self._send(url, headers | own if _origin(url) == origin else headers)
            with resp:
                target = _redirect_target(resp, url)
                if target is None:
                    return replace(self._final(resp, d, permanent), warning=warning)
                _discard(resp)
            if _downgrades(url, target):
                warning = f"redirected from https to plain http ({target}): not encrypted"
                log.warning("%s: %s", url, warning)
            leading_permanent = leading_permanent and resp.status_code in PERMANENT
            if leading_permanent:
                permanent = target
            if target in seen:
                raise FetchError(f"redirect loop: {target} was already visited",
                                 resp.status_code)
            seen.add(target)
            url = target
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    def _send(self, url: str, headers: dict[str, str]) -> requests.Response:
        """One request, straight to the adapter: Session.send would read (and decode, with
        no cap) a redirect's body itself, and keep the server's cookies to send back."""
        timeout = self.settings.poll.timeout.total_seconds()
        request = _get_request(url, self.session, headers)
        return self.session.get_adapter(url).send(
            request, stream=True, timeout=(min(CONNECT_TIMEOUT, timeout), timeout),
            verify=self.session.verify if self.session.verify is not None else True,
            proxies=self.session.proxies)

    def _final(self, resp: requests.Response, d: Deadline, permanent: str | None
               ) -> Fetched | NotModified:
        now = self.clock()
        max_age = freshness(resp.headers, now)
        if resp.status_code == 304:
            _discard(resp)
            return NotModified(status=304, permanent_url=permanent, max_age=max_age,
                               etag=resp.headers.get("ETag"),
                               last_modified=resp.headers.get("Last-Modified"))
        if resp.status_code != 200:
            raise FetchError(f"HTTP {resp.status_code} {resp.reason or ''}".strip(),
                             status=resp.status_code,
                             retry_after=retry_after(resp.headers.get("Retry-After"), now))
        _check_coding(resp.headers.get("Content-Encoding"))
        limit = self.settings.poll.max_bytes
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(f"Content-Length {declared} is over poll.max_bytes ({limit})", 200)
        # no-store: keep nothing of it, validators included (RFC 9111 5.2.2.5). no-cache and
        # Expires: 0 ask for revalidation, which is what a conditional request is.
        keep = not _NO_STORE.search(resp.headers.get("Cache-Control", ""))
        return Fetched(url=resp.url, body=_read_capped(resp, limit, d),
                       content_type=resp.headers.get("Content-Type"),
                       etag=resp.headers.get("ETag") if keep else None,
                       last_modified=resp.headers.get("Last-Modified") if keep else None,
                       permanent_url=permanent, max_age=max_age,
                       hub=resp.links.get("hub", {}).get("url"),
                       topic=resp.links.get("self", {}).get("url"))


def _get_request(url: str, session: requests.Session, headers: dict[str, str]
                 ) -> requests.PreparedRequest:
    """A GET as ``session.prepare_request`` makes it, without merging cookies, hooks and
    auth per request (a quarter of a conditional GET's CPU: 2,000 of them in a poll): the
    session keeps no cookies (the adapter is called directly) and has no auth; the URL is
    prepared once per address. A URL with credentials in it goes the whole way."""
    prepared_url = _prepared_url(url)
    if "@" in urlsplit(prepared_url).netloc:
        return session.prepare_request(requests.Request("GET", url, headers=headers))
    request = requests.PreparedRequest()
    request.method = "GET"
    request.url = prepared_url
    request.prepare_headers({**session.headers, **headers})  # validated, as prepare does
    request.prepare_hooks({})
    return request


@functools.lru_cache(maxsize=8192)
def _prepared_url(url: str) -> str:
    """The URL as requests sends it (IDNA host, quoted path); its errors are raised again
    on every call (an exception is not cached)."""
    request = requests.PreparedRequest()
    request.prepare_url(url, None)
    assert request.url is not None
    return request.url


def _own_headers(source: SourceSettings) -> dict[str, str]:
    """The source's own request headers; FetchError when its password cannot be read."""
    own = dict(source.headers)
    if source.user_agent:
        own["User-Agent"] = source.user_agent
    if source.auth is not None:
        try:
            password = source.auth.password()
        except ConfigError as e:
            raise FetchError(str(e)) from None
        pair = f"{source.auth.username}:{password}".encode()
        own["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    return own


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme, (parts.hostname or "").lower(), port


def _conditional(state: SourceState | None) -> dict[str, str]:
    headers = {}
    if state and state.etag:
        headers["If-None-Match"] = state.etag
    if state and state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    return headers


def _downgrades(url: str, target: str) -> bool:
    return urlsplit(url).scheme.lower() == "https" and urlsplit(target).scheme.lower() == "http"


def _check_scheme(url: str) -> None:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"refused to follow a redirect to a {scheme or 'relative'}: URL ({url})")


def _redirect_target(resp: requests.Response, url: str) -> str | None:
    location = resp.headers.get("Location")
    if resp.status_code not in REDIRECTS or not location:
        return None
    return urljoin(url, location.strip())


def _check_coding(value: str | None) -> None:
    """One known compression at most: a stacked or unknown coding would be parsed as if
    it were the document (urllib3 ignores what it does not know)."""
    codings = [c.strip().lower() for c in (value or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if len(codings) > 1:
        raise FetchError(f"stacked Content-Encoding {value!r}: one compression at most", 200)
    if codings and codings[0] not in _CODINGS:
        raise FetchError(f"unsupported Content-Encoding {codings[0]!r} (we ask for gzip or "
                         "deflate)", 200)


def _discard(resp: requests.Response) -> None:
    """Drain a body nobody reads (a redirect's, a 304's) so the connection is reused: raw
    bytes, never decoded, at most DISCARD_BYTES; past that the connection is closed."""
    drained = 0
    for chunk in resp.raw.stream(CHUNK, decode_content=False):
        drained += len(chunk)
        if drained > DISCARD_BYTES:
            resp.close()
            return


def _read_capped(resp: requests.Response, limit: int, d: Deadline) -> bytes:
    """Read the decoded body, stopping as soon as it grows past ``limit``."""
    chunks: list[bytes] = []
    size = 0
    for chunk in resp.iter_content(CHUNK):
        size += len(chunk)
        if size > limit:
            raise FetchError(f"body is over poll.max_bytes ({limit} bytes decoded)", 200)
        chunks.append(chunk)
    if d.expired:
        raise FetchError(f"timed out: the whole request took over {d.seconds:g}s", 200)
    return b"".join(chunks)


def _explain(e: Exception, d: Deadline) -> FetchError:
    """One plain-words message per failure, the deadline and the guard first."""
    if d.denied:
        return FetchError(f"blocked by the network guard: {d.denied}")
    if d.expired:
        return FetchError(f"timed out: the whole request took over {d.seconds:g}s")
    if isinstance(e, requests.exceptions.SSLError):
        return FetchError(f"TLS error: {_short(e)}")
    if isinstance(e, requests.exceptions.Timeout):
        return FetchError(f"timed out: {_short(e)}")
    if isinstance(e, requests.exceptions.ChunkedEncodingError):
        return FetchError(f"body ended early (shorter than its Content-Length): {_short(e)}",
                          200)
    if isinstance(e, requests.exceptions.ContentDecodingError):
        return FetchError(f"cannot decode the compressed body: {_short(e)}", 200)
    if isinstance(e, requests.exceptions.ConnectionError):
        return FetchError(f"connection failed: {_cause(e)}")
    return FetchError(f"request failed: {_short(e)}")


def freshness(headers: requests.structures.CaseInsensitiveDict[str], now: datetime
              ) -> float | None:
    """Seconds the response stays fresh: Cache-Control max-age, else Expires (RFC 9111 4.2.1)."""
    m = _MAX_AGE.search(headers.get("Cache-Control", ""))
    if m:
        return float(m.group(1))
    expires = _http_date(headers.get("Expires"))
    if expires is None:
        return None
    date = _http_date(headers.get("Date")) or now
    return max(0.0, (expires - date).total_seconds())


def retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from now, from delay-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        when = _http_date(value)
        if when is None:
            return None
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _cause(e: Exception) -> str:
    """The root of a connection failure in words: "connection refused", not the repr of
    urllib3's exception chain."""
    seen: BaseException | None = e
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused (nothing listens at that address and port)"
        if isinstance(seen, ConnectionResetError):
            return "connection reset by the server"
        if isinstance(seen, socket.gaierror):
            return f"the host name does not resolve ({seen.strerror})"
        if isinstance(seen, OSError) and seen.strerror and not isinstance(
                seen, requests.exceptions.RequestException):
            return str(seen.strerror).lower()
        seen = seen.__cause__ or seen.__context__ or (
            seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None)
        if isinstance(seen, tuple):
            break
    return _short(e)


def _short(e: Exception) -> str:
    text = str(e)
    return text if len(text) < 300 else text[:297] + "..."
