"""The fetch policy against a scripted HTTP server on 127.0.0.1: one case per behaviour."""

from __future__ import annotations

import email.utils
import functools
import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, write_config
from support.http import Loopback
from support.scripted import Reply, ScriptedServer, short_body, trickle, trickle_unsized, unsized

from aggregator import Aggregator, __version__
from aggregator.config import load_settings
from aggregator.models import SourceState
from aggregator.schedule import ADOPT_AFTER

FEED = (EXAMPLES / "durban-member-rss1.xml").read_bytes()
RSS = {"Content-Type": "application/rss+xml"}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)



@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(tmp_path: Path, urls: dict[str, str], clock: Clock | None = None,
         **poll: Any) -> Aggregator:
    sources = [{"id": sid, "name": sid.title(), "kind": "member", "url": url}
               for sid, url in urls.items()]
    settings = {"interval": "1h", "workers": 4, "per_host": 2, "timeout": "3s",
                "allow_hosts": ["127.0.0.1"]} | poll
    config = write_config(tmp_path, sources, poll=settings)
    return Aggregator(load_settings(config), parse_processes=0, clock=clock or Clock())


def state(agg: Aggregator, sid: str = "s") -> SourceState:
    found = agg.store.source_state(sid)
    assert found is not None
    return found


# -- politeness ---------------------------------------------------------------------------------

def test_validators_are_echoed_byte_for_byte(tmp_path: Path, server: ScriptedServer) -> None:
    etag, modified = 'W/"odd etag, with comma"', "Tue, 15 Nov 1994 12:45:26 GMT"
    server.routes["/f"] = [Reply(200, FEED, RSS | {"ETag": etag, "Last-Modified": modified}),
                           Reply(304, b"", {"ETag": etag})]
    with make(tmp_path, {"s": server.url("/f")}) as agg:
        assert agg.update().results[0].outcome == "updated"
        second = agg.update().results[0]
    assert second.outcome == "not_modified" and second.http_status == 304
    headers = server.seen[1].headers
    assert headers["If-None-Match"] == etag and headers["If-Modified-Since"] == modified


def test_same_body_without_validators_is_not_modified(tmp_path: Path,
                                                      server: ScriptedServer) -> None:
    server.routes["/f"] = Reply(200, FEED, RSS)
    with make(tmp_path, {"s": server.url("/f")}) as agg:
        agg.update()
        report = agg.update()
    assert report.results[0].outcome == "not_modified" and report.new == 0


def test_request_headers(tmp_path: Path, server: ScriptedServer) -> None:
    server.routes["/f"] = Reply(200, FEED, RSS)
    with make(tmp_path, {"s": server.url("/f")}) as agg:
        agg.update()
    h = server.seen[0].headers
    assert "application/atom+xml" in h["Accept"] and "application/rss+xml" in h["Accept"]
    assert h["Accept-Encoding"] == "gzip, deflate"
    assert f"lrg-aggregator/{__version__}" in h["User-Agent"]
    assert "mailto:test@example.org" in h["User-Agent"]


def test_a_url_is_sent_as_requests_prepares_it_credentials_included(
        tmp_path: Path, server: ScriptedServer) -> None:
    """fetch._get_request skips the session's per-request merging: a non-ASCII address is
    still quoted, and credentials in a URL still become Basic auth."""
    server.routes["/actualit%C3%A9s.xml"] = Reply(200, FEED, RSS)  # as it reaches the server
    server.routes["/private.xml"] = Reply(200, FEED, RSS)
    spaced = server.url("/actualités.xml")
    with_credentials = server.url("/private.xml").replace("http://", "http://reader:s3cret@")
    with make(tmp_path, {"s": spaced, "p": with_credentials}) as agg:
        results = {r.source_id: r.outcome for r in agg.update().results}
    assert results == {"s": "updated", "p": "updated"}
    seen = {r.path: r.headers for r in server.seen}
    assert "/actualit%C3%A9s.xml" in seen, sorted(seen)
    assert seen["/private.xml"]["Authorization"] == "Basic cmVhZGVyOnMzY3JldA=="
    assert "Authorization" not in seen["/actualit%C3%A9s.xml"]


def test_cookies_from_feed_servers_are_never_sent_back(tmp_path: Path,
                                                       server: ScriptedServer) -> None:
    server.routes["/old"] = Reply(302, b"", {"Location": "/f", "Set-Cookie": "a=1; Path=/"})
    server.routes["/f"] = Reply(200, FEED, RSS | {"Set-Cookie": "b=2; Path=/"})
    with make(tmp_path, {"s": server.url("/old")}) as agg:
        agg.update()
        agg.update(["s"])
    assert len(server.seen) == 4 and all("Cookie" not in s.headers for s in server.seen)


def test_server_text_reaches_status_without_escapes_and_capped(
        tmp_path: Path, server: ScriptedServer) -> None:
    def hostile(h: Any) -> None:
        h.send_response(503, "\x1b]0;owned\x07Busy \x1b[31mnow\x1b[0m" + "z" * 60_000)
        h.send_header("Content-Length", "0")
        h.end_headers()
    server.routes["/f"] = hostile
    with make(tmp_path, {"s": server.url("/f")}) as agg:
        agg.update()
        error = state(agg).last_error or ""
    assert error.startswith("fetch failed: HTTP 503 Busy nowzzz")
    assert "\x1b" not in error and "\x07" not in error and len(error) < 400


@pytest.mark.parametrize(("coding", "error"), [
    ("gzip, gzip", "stacked Content-Encoding 'gzip, gzip': one compression at most"),
    ("zstd", "unsupported Content-Encoding 'zstd' (we ask for gzip or deflate)"),
    ("compress", "unsupported Content-Encoding 'compress' (we ask for gzip or deflate)"),
])
def test_stacked_or_unknown_codings_are_refused(tmp_path: Path, server: ScriptedServer,
                                                coding: str, error: str) -> None:
    body = gzip.compress(gzip.compress(FEED)) if coding.startswith("gzip") else FEED
    server.routes["/f"] = Reply(200, body, RSS | {"Content-Encoding": coding})
    with make(tmp_path, {"s": server.url("/f")}) as agg:
        result = agg.update().results[0]
        assert agg.store.entries() == []
    assert result.error == f"fetch failed: {error}"


def test_gzip_bodies_are_decoded(tmp_path: Path, server: ScriptedServer) -> None:
    server.routes["/f"] = Reply(200, gzip.compress(FEED), RSS | {"Content-Encoding": "gzip"})
    with make(tmp_path, {"s": server.url("/f")}) as agg:
        assert agg.update().new == 3


def test_connections_are_reused_across_304s(tmp_path: Path, server: ScriptedServer) -> None:
    server.routes["/f"] = Reply(200, FEED, RSS | {"ETag": '"v1"'})
    with make(tmp_path, {"s": server.url("/f")}) as agg:
        for _ in range(6):
            agg.update()
    assert [s.headers.get("If-None-Match") for s in server.seen[1:]] == ['"v1"'] * 5
    assert server.connections == 1
    assert len({s.client_port for s in server.seen}) == 1


@pytest.mark.parametrize(("headers", "ttl", "expected"), [
    ({}, None, 3600),
    ({"Cache-Control": "public, max-age=7200"}, None, 7200),
    ({"Cache-Control": "max-age=60"}, None, 3600),  # never shorter than the interval
    ({"Cache-Control": "max-age=31536000"}, None, 86400),  # ceiling: one day
    ({"Expires": "+3h"}, None, 10800),  # relative to the server's own Date header
    ({}, 240, 14400),  # RSS <ttl> in minutes
])
def test_next_check_from_interval_and_hints(tmp_path: Path, server: ScriptedServer,
                                            clock: Clock, headers: dict[str, str],
                                            ttl: int | None, expected: int) -> None:
    body = FEED if ttl is None else (EXAMPLES / "sousse-member-rss2.xml").read_bytes().replace(
        b"<ttl>60</ttl>", f"<ttl>{ttl}</ttl>".encode())
    if headers.get("Expires") == "+3h":
        headers = {"Expires": email.utils.format_datetime(
            datetime.now(UTC) + timedelta(hours=3, seconds=1), usegmt=True)}
    server.routes["/f"] = Reply(200, body, RSS | headers)
    with make(tmp_path, {"s": server.url("/f")}, clock) as agg:
        agg.update()
        wait = (state(agg).next_check_at - clock.now).total_seconds()
    assert expected <= wait <= min(expected * 1.1, max(86400, 3600)) + 1


def test_jitter_spreads_sources(tmp_path: Path, server: ScriptedServer, clock: Clock) -> None:
    server.routes["/f"] = Reply(200, FEED, RSS)
    urls = {f"s{i}": server.url(f"/f?{i}") for i in range(5)}
    for i in range(5):
        server.routes[f"/f?{i}"] = Reply(200, FEED.replace(b"durban", f"d{i}".encode()), RSS)
    with make(tmp_path, urls, clock) as agg:
        agg.update()
        checks = {state(agg, sid).next_check_at for sid in urls}
    assert len(checks) == 5


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("form", ["seconds", "date"])
def test_retry_after_holds_every_source_on_the_host(tmp_path: Path, server: ScriptedServer,
                                                    clock: Clock, status: int,
                                                    form: str) -> None:
    value = "7200" if form == "seconds" else email.utils.format_datetime(
        clock.now + timedelta(hours=2), usegmt=True)
    server.routes["/a"] = Reply(status, b"slow down", {"Retry-After": value})
    server.routes["/b"] = Reply(200, FEED, RSS)
    server.routes["/c"] = Reply(200, FEED, RSS)
    urls = {"a": server.url("/a"), "b": server.url("/b"), "c": server.url("/c")}
    with make(tmp_path, urls, clock, per_host=1, workers=1) as agg:  # a goes first
        report = agg.update(["a", "b"])
        results = {r.source_id: r for r in report.results}
        a, b, c = state(agg, "a"), state(agg, "b"), state(agg, "c")
        health = {h.id: h for h in agg.status()}
    assert results["a"].outcome == "error" and results["b"].outcome == "deferred"
    assert server.hits("/b") == [] and server.hits("/c") == []
    until = clock.now + timedelta(hours=2)
    assert a.next_check_at == b.next_check_at == c.next_check_at == until
    assert a.failures == (0 if status == 429 else 1)  # a 429 is not a failure
    assert health["a"].state == "backing off" and not a.gone
    # every source on the held host says so, polled or not (status, status --json)
    assert health["a"].held_until == health["b"].held_until == health["c"].held_until == \
        until.isoformat()


def test_a_host_wide_retry_after_holds_across_cycles_and_processes(
        tmp_path: Path, server: ScriptedServer, clock: Clock) -> None:
    server.routes["/a"] = Reply(429, b"slow down", {"Retry-After": "600"})
    server.routes["/b"] = Reply(200, FEED, RSS)
    urls = {"a": server.url("/a"), "b": server.url("/b")}
    with make(tmp_path, urls, clock, per_host=1, workers=1) as agg:
        agg.update(["a"])
    clock.advance(seconds=20)
    with make(tmp_path, urls, clock, per_host=1, workers=1) as agg:  # a restarted service
        again = agg.update(["b"]).results[0]  # asked for by name, even
        clock.advance(seconds=600)
        later = agg.update(["b"]).results[0]
    assert again.outcome == "deferred" and later.outcome == "updated"
    assert [h.path for h in server.seen] == ["/a", "/b"]  # b only once the hold was over


@pytest.mark.parametrize(("cache", "conditional"), [
    ({"Cache-Control": "no-store"}, False), ({"Cache-Control": "private, no-store"}, False),
    ({"Cache-Control": "no-cache"}, True), ({"Expires": "0"}, True)])
def test_validators_of_a_no_store_response_are_not_kept(
        tmp_path: Path, server: ScriptedServer, cache: dict[str, str], conditional: bool
        ) -> None:
    server.routes["/f"] = Reply(200, FEED, RSS | {"ETag": '"v1"'} | cache)
    with make(tmp_path, {"s": server.url("/f")}) as agg:
        agg.update()
        agg.update(["s"])
    assert ("If-None-Match" in server.seen[1].headers) == conditional


def test_retry_after_is_capped_at_seven_days(tmp_path: Path, server: ScriptedServer,
                                             clock: Clock) -> None:
    server.routes["/a"] = Reply(429, b"", {"Retry-After": str(365 * 86400)})
    with make(tmp_path, {"s": server.url("/a")}, clock) as agg:
        agg.update()
        assert state(agg).next_check_at == clock.now + timedelta(days=7)


def test_a_429_never_disables_a_source(tmp_path: Path, server: ScriptedServer,
                                       clock: Clock) -> None:
    server.routes["/a"] = Reply(429, b"")
    with make(tmp_path, {"s": server.url("/a")}, clock) as agg:
        for _ in range(10):
            agg.update()
            clock.advance(hours=2)
        s = state(agg)
        assert not s.gone and s.failures == 0 and [x.id for x in agg.due_sources()] == ["s"]


def test_failures_back_off_exponentially_and_reset(tmp_path: Path, server: ScriptedServer,
                                                   clock: Clock) -> None:
    server.routes["/f"] = Reply(500, b"oops")
    waits = []
    with make(tmp_path, {"s": server.url("/f")}, clock) as agg:
        for _ in range(7):
            agg.update()
            waits.append((state(agg).next_check_at - clock.now).total_seconds() / 3600)
        assert state(agg).failures == 7 and state(agg).last_error == (
            "fetch failed: HTTP 500 Internal Server Error")
        server.routes["/f"] = Reply(200, FEED, RSS)
        agg.update()
        recovered = state(agg)
        events = [e.kind for e in agg.events()]
        agg.publish()
        status_atom = (agg.settings.output.dir / "status.atom").read_bytes()
    nominal = [1, 2, 4, 8, 16, 24, 24]  # doubled, capped at one day; up to 10 % jitter
    assert all(n <= w <= n * 1.1 for n, w in zip(nominal, waits, strict=True)), waits
    assert recovered.failures == 0 and recovered.last_error is None
    assert events == ["recovered", "failing"]
    assert b"S is failing" in status_atom and b"S recovered" in status_atom


def test_a_source_failing_for_months_still_backs_off_within_a_day() -> None:
    from aggregator.outcome import ErrorKind, SourceError, SourceOutcome
    from aggregator.schedule import MAX_INTERVAL, next_state
    now = datetime(2026, 11, 30, tzinfo=UTC)
    old = SourceState(source_id="s", failures=400)  # a dead feed polled for weeks
    failed = SourceOutcome("s", error=SourceError(ErrorKind.FETCH, "HTTP 500"), status=500)
    state, _ = next_state(failed, old, timedelta(hours=1), now)
    assert state.last_error == "fetch failed: HTTP 500"
    assert state.failures == 401
    assert state.next_check_at is not None
    assert MAX_INTERVAL <= state.next_check_at - now <= MAX_INTERVAL * 1.1


def test_sources_failing_together_retry_apart(tmp_path: Path, server: ScriptedServer,
                                              clock: Clock) -> None:
    server.routes["/f"] = Reply(500, b"oops")
    urls = {f"s{i}": server.url("/f") for i in range(5)}
    with make(tmp_path, urls, clock) as agg:
        agg.update()
        retries = {state(agg, sid).next_check_at for sid in urls}
    assert len(retries) == 5


def test_a_304_renews_validators_and_keeps_the_ttl(tmp_path: Path, server: ScriptedServer,
                                                   clock: Clock) -> None:
    feed = FEED.replace(
        b"</title>", b"</title><ttl>180</ttl>", 1)
    server.routes["/f"] = [Reply(200, feed, RSS | {"ETag": '"v1"'}),
                           Reply(304, b"", {"ETag": '"v2"', "Last-Modified":
                                            "Mon, 30 Nov 2026 08:00:00 GMT"})]
    with make(tmp_path, {"s": server.url("/f")}, clock) as agg:
        agg.update()
        assert state(agg).ttl_minutes == 180
        clock.advance(hours=4)
        agg.update(["s"])
        after = state(agg)
    assert server.hits("/f")[1].headers["If-None-Match"] == '"v1"'
    assert after.etag == '"v2"' and after.last_modified == "Mon, 30 Nov 2026 08:00:00 GMT"
    wait = after.next_check_at - clock.now
    assert timedelta(hours=3) <= wait <= timedelta(hours=3.3)  # the ttl, not the 1h interval


@pytest.mark.parametrize("status", [404, 500, 502, 503])
def test_errors_are_recorded_with_status(tmp_path: Path, server: ScriptedServer,
                                         status: int) -> None:
    server.routes["/f"] = Reply(status, b"")
    with make(tmp_path, {"s": server.url("/f")}) as agg:
        report = agg.update()
        s = state(agg)
    assert report.results[0].http_status == status and s.http_status == status
    assert s.failures == 1 and s.last_error.startswith(f"fetch failed: HTTP {status}")


def test_per_host_and_worker_limits_measured_at_the_server(tmp_path: Path,
                                                           server: ScriptedServer) -> None:
    urls = {}
    for i in range(6):
        server.routes[f"/f{i}"] = Reply(200, FEED.replace(b"durban", f"d{i}".encode()), RSS,
                                        delay=0.3)
        urls[f"s{i}"] = server.url(f"/f{i}")
    with make(tmp_path, urls, per_host=2, workers=8) as agg:
        agg.update()
    assert server.max_in_flight == 2


@pytest.mark.slow  # waits out real deadlines and delays
def test_one_slow_host_does_not_hold_up_the_others(tmp_path: Path) -> None:
    slow, fast = ScriptedServer("127.0.0.2"), ScriptedServer("127.0.0.3")
    try:
        urls = {}
        for i in range(4):
            slow.routes[f"/s{i}"] = Reply(200, FEED.replace(b"durban", f"s{i}".encode()), RSS,
                                          delay=1.0)
            fast.routes[f"/f{i}"] = Reply(200, FEED.replace(b"durban", f"f{i}".encode()), RSS)
            urls[f"slow{i}"], urls[f"fast{i}"] = slow.url(f"/s{i}"), fast.url(f"/f{i}")
        with make(tmp_path, urls, per_host=1, workers=4,
                  allow_hosts=["127.0.0.0/8"]) as agg:
            agg.update()
        first_slow = min(s.at for s in slow.seen)
        # every fast source was served while the slow host was still on its first request
        assert max(s.at for s in fast.seen) < first_slow + 1.0
        assert slow.max_in_flight == 1 and len(slow.seen) == 4
    finally:
        slow.close()
        fast.close()


# -- redirects and gone sources ----------------------------------------------------------------

def test_permanent_redirect_is_adopted_after_three_polls(tmp_path: Path,
                                                         server: ScriptedServer) -> None:
    server.routes["/old"] = Reply(301, b"", {"Location": "/mid"})
    server.routes["/mid"] = Reply(308, b"", {"Location": server.url("/new")})
    server.routes["/new"] = Reply(200, FEED, RSS | {"ETag": '"n"'})
    with make(tmp_path, {"s": server.url("/old")}) as agg:
        for poll in range(1, ADOPT_AFTER + 1):
            agg.update()
            adopted = state(agg).adopted_url
            assert (adopted is None) == (poll < ADOPT_AFTER)
        assert adopted == server.url("/new")
        agg.update()
        health = agg.status()[0]
        events = agg.events()
    assert [s.path for s in server.seen[-1:]] == ["/new"]  # polled directly now
    assert len(server.hits("/old")) == ADOPT_AFTER
    assert health.adopted_url == server.url("/new")
    assert [e.kind for e in events] == ["moved"]
    config = (tmp_path / "config.yaml").read_text()
    assert "/old" in config and "/new" not in config  # the config file is not rewritten


@pytest.mark.parametrize("status", [302, 303, 307])
def test_temporary_redirect_is_followed_not_adopted(tmp_path: Path, server: ScriptedServer,
                                                    status: int) -> None:
    server.routes["/old"] = Reply(status, b"", {"Location": "/new"})
    server.routes["/new"] = Reply(200, FEED, RSS)
    with make(tmp_path, {"s": server.url("/old")}) as agg:
        for _ in range(ADOPT_AFTER + 1):
            report = agg.update()
        assert state(agg).adopted_url is None and report.results[0].error is None
    assert len(server.hits("/old")) == ADOPT_AFTER + 1


def test_permanent_then_temporary_adopts_only_the_permanent_hop(
        tmp_path: Path, server: ScriptedServer) -> None:
    server.routes["/a"] = Reply(301, b"", {"Location": "/b"})
    server.routes["/b"] = Reply(302, b"", {"Location": "/c"})
    server.routes["/c"] = Reply(200, FEED, RSS)
    with make(tmp_path, {"s": server.url("/a")}) as agg:
        for _ in range(ADOPT_AFTER):
            agg.update()
        assert state(agg).adopted_url == server.url("/b")


def test_redirect_limits(tmp_path: Path, server: ScriptedServer) -> None:
    for i in range(7):
        server.routes[f"/r{i}"] = Reply(302, b"", {"Location": f"/r{i + 1}"})
    server.routes["/r7"] = Reply(200, FEED, RSS)
    server.routes["/ok"] = Reply(302, b"", {"Location": "/r3"})  # 4 redirects + final: fine
    server.routes["/loop1"] = Reply(301, b"", {"Location": "/loop2"})
    server.routes["/loop2"] = Reply(301, b"", {"Location": "/loop1"})
    urls = {"far": server.url("/r0"), "near": server.url("/ok"), "loop": server.url("/loop1")}
    with make(tmp_path, urls) as agg:
        results = {r.source_id: r for r in agg.update().results}
    assert results["far"].error == "fetch failed: more than 5 redirects"
    assert results["near"].outcome == "updated"
    assert results["loop"].error.startswith("fetch failed: redirect loop")


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://example.org/feed.xml",
                                      "gopher://example.org/"])
def test_redirect_to_other_schemes_is_refused(tmp_path: Path, server: ScriptedServer,
                                              location: str) -> None:
    server.routes["/f"] = Reply(301, b"", {"Location": location})
    with make(tmp_path, {"s": server.url("/f")}) as agg:
        result = agg.update().results[0]
    scheme = location.split(":")[0]
    assert result.error.startswith(f"fetch failed: refused to follow a redirect to a {scheme}:")


def test_gone_source_is_not_polled_until_reenabled(tmp_path: Path, server: ScriptedServer,
                                                   clock: Clock) -> None:
    server.routes["/f"] = Reply(410, b"gone")
    with make(tmp_path, {"s": server.url("/f")}, clock) as agg:
        agg.update()
        assert state(agg).gone and agg.status()[0].state == "gone"
        clock.advance(days=30)
        assert agg.due_sources() == []
        report = agg.update()  # every enabled source: the gone one is left out
        assert report.results == () and len(server.seen) == 1
        server.routes["/f"] = Reply(200, FEED, RSS)
        agg.enable_source("s")
        assert [s.id for s in agg.due_sources()] == ["s"]
        assert agg.update().new == 3
        assert [e.kind for e in agg.events()] == ["re-enabled", "gone"]
        assert agg.status()[0].state == "active"


# -- limits -------------------------------------------------------------------------------------

@pytest.mark.slow  # waits out real deadlines and delays
@pytest.mark.parametrize("framing", [trickle, trickle_unsized])  # Content-Length, or close
def test_trickling_server_is_cut_at_the_deadline(tmp_path: Path, server: ScriptedServer,
                                                 framing: Any) -> None:
    import time
    server.routes["/f"] = framing(FEED, every=0.2)
    with make(tmp_path, {"s": server.url("/f")}, timeout="2s") as agg:
        start = time.monotonic()
        result = agg.update().results[0]
        elapsed = time.monotonic() - start
    assert result.error == "fetch failed: timed out: the whole request took over 2s"
    assert 1.9 < elapsed < 4
    assert agg.store.entries() == []


@pytest.mark.slow  # waits out real deadlines and delays
def test_a_slow_source_does_not_hold_back_the_others_entries(
        tmp_path: Path, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from aggregator.run import cycle as update
    monkeypatch.setattr(update, "FLUSH_EVERY", 0.2)
    server.routes["/slow"] = trickle_unsized(FEED, every=0.2)
    server.routes["/fast"] = Reply(200, FEED, RSS)
    urls = {"slow": server.url("/slow"),
            "fast": server.url("/fast").replace("127.0.0.1", "localhost")}  # its own host
    stored: list[tuple[float, int]] = []
    with make(tmp_path, urls, timeout="3s") as agg:
        start = time.monotonic()
        report = agg.update(on_stored=lambda: stored.append(
            (time.monotonic() - start, len(agg.store.entries(source_id="fast")))))
        total = time.monotonic() - start
    assert stored and stored[0][1] == 3 and stored[0][0] < 1.5  # stored while slow went on
    assert total >= 2.9  # the slow one ran into its deadline, after that
    assert {r.source_id: r.outcome for r in report.results} == {"slow": "error",
                                                               "fast": "updated"}


@pytest.mark.slow  # waits out real deadlines and delays
def test_slow_response_headers_hit_the_deadline(tmp_path: Path, server: ScriptedServer) -> None:
    server.routes["/f"] = Reply(200, FEED, RSS, delay=3)
    with make(tmp_path, {"s": server.url("/f")}, timeout="1s") as agg:
        result = agg.update().results[0]
    assert result.error.startswith("fetch failed: timed out")


def test_oversize_by_content_length_is_refused_before_reading(
        tmp_path: Path, server: ScriptedServer) -> None:
    server.routes["/f"] = Reply(200, FEED, RSS)
    with make(tmp_path, {"s": server.url("/f")}, max_bytes="1KiB") as agg:
        result = agg.update().results[0]
    assert result.error == f"fetch failed: Content-Length {len(FEED)} is over poll.max_bytes (1024)"


def test_oversize_by_stream(tmp_path: Path, server: ScriptedServer) -> None:
    server.routes["/f"] = unsized(b"<rss>" + b" " * 200_000, RSS)
    with make(tmp_path, {"s": server.url("/f")}, max_bytes="64KiB") as agg:
        result = agg.update().results[0]
    assert result.error == "fetch failed: body is over poll.max_bytes (65536 bytes decoded)"


@functools.cache  # compressing it takes a second and a half: once per test process
def gzip_bomb() -> bytes:
    return gzip.compress(b"\0" * (200 * 2**20))  # 200 MiB of zeros in ~200 KiB


def test_gzip_bomb_is_stopped_at_the_cap(tmp_path: Path, server: ScriptedServer) -> None:
    bomb = gzip_bomb()
    assert len(bomb) < 300_000
    server.routes["/f"] = Reply(200, bomb, RSS | {"Content-Encoding": "gzip"})
    with make(tmp_path, {"s": server.url("/f")}, max_bytes="1MiB") as agg:
        result = agg.update().results[0]
    assert result.error == "fetch failed: body is over poll.max_bytes (1048576 bytes decoded)"


def test_redirect_bodies_are_discarded_undecoded(tmp_path: Path,
                                                 server: ScriptedServer) -> None:
    import tracemalloc
    bomb = gzip_bomb()
    server.routes["/old"] = Reply(301, bomb, {"Location": "/f", "Content-Encoding": "gzip"})
    server.routes["/f"] = Reply(200, FEED, RSS)
    with make(tmp_path, {"s": server.url("/old")}, max_bytes="1MiB") as agg:
        tracemalloc.start()
        try:
            result = agg.update().results[0]
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert result.error is None and len(agg.store.entries()) > 0
    assert peak < 20 * 2**20  # the redirect's body was never inflated


def test_a_document_cut_short_by_a_closed_connection_stores_nothing(
        tmp_path: Path, server: ScriptedServer) -> None:
    cut = FEED[:FEED.rindex(b"</item>")]  # whole items before the cut, no closing tags
    server.routes["/f"] = unsized(cut, RSS)
    with make(tmp_path, {"s": server.url("/f")}) as agg:
        result = agg.update().results[0]
        assert agg.store.entries() == [] and state(agg).body_hash is None
    assert result.error is not None and "cut short" in result.error


def test_short_body_is_an_error_and_stores_nothing(tmp_path: Path,
                                                   server: ScriptedServer) -> None:
    server.routes["/f"] = short_body(FEED[:900], declared=len(FEED))
    with make(tmp_path, {"s": server.url("/f")}) as agg:
        result = agg.update().results[0]
        assert agg.store.entries() == [] and state(agg).body_hash is None
    assert result.error.startswith("fetch failed: body ended early")


def test_tls_errors_are_reported_never_retried_insecurely(tmp_path: Path) -> None:
    import ssl
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    handshakes: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            handshakes.append("request")
            self.send_response(200)
            self.end_headers()

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)

    def tls(httpd: ThreadingHTTPServer) -> None:
        original = httpd.get_request

        def get_request() -> Any:
            sock, addr = original()
            handshakes.append("connect")
            return context.wrap_socket(sock, server_side=True,
                                       do_handshake_on_connect=False), addr
        httpd.get_request = get_request  # type: ignore[method-assign]

    with Loopback(Handler, prepare=tls) as https, \
            make(tmp_path, {"s": https.url("/feed.xml", scheme="https")}) as agg:
        result = agg.update().results[0]
    assert result.error.startswith("fetch failed: TLS error")
    assert "CERTIFICATE_VERIFY_FAILED" in result.error
    assert handshakes == ["connect"]  # one attempt, no request sent without verification


def test_a_redirect_from_https_to_http_is_followed_with_a_warning(
        tmp_path: Path, server: ScriptedServer) -> None:
    import ssl
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import trustme

    from aggregator.ingest.fetch import Fetcher

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    plain = server.url("/f")
    server.routes["/f"] = Reply(200, FEED, RSS)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", plain)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def tls(httpd: ThreadingHTTPServer) -> None:
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)

    https = Loopback(Handler, prepare=tls)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    try:
        with make(tmp_path, {"s": https.url("/feed", scheme="https")}) as agg:
            agg._fetcher = Fetcher.create(agg.settings, agg.resolver, agg.clock)
            agg._fetcher.session.verify = str(bundle)  # trust the test CA, nothing else
            result = agg.update().results[0]
            health = agg.status()[0]
    finally:
        https.close()
    assert result.error is None and result.new == 3
    assert health.warning == f"redirected from https to plain http ({plain}): not encrypted"


def test_environment_proxies_are_ignored(tmp_path: Path, server: ScriptedServer,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = ScriptedServer()
    try:
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
            monkeypatch.setenv(name, proxy.url("/"))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        server.routes["/f"] = Reply(200, FEED, RSS)
        with make(tmp_path, {"s": server.url("/f")}) as agg:
            assert agg.update().new == 3
        assert proxy.seen == [] and proxy.connections == 0
    finally:
        proxy.close()


def test_configured_proxy_is_used(tmp_path: Path, server: ScriptedServer) -> None:
    server.routes["http://feeds.example/f"] = Reply(200, FEED, RSS)  # a proxy sees full URLs
    with make(tmp_path, {"s": "http://feeds.example/f"}, proxy=server.url("")) as agg:
        assert agg.update().new == 3
    assert server.seen[0].path == "http://feeds.example/f"


def test_status_json_shows_health(tmp_path: Path, server: ScriptedServer) -> None:
    server.routes["/f"] = Reply(404, b"")
    with make(tmp_path, {"s": server.url("/f")}) as agg:
        agg.update()
        agg.publish()
        doc = json.loads((agg.settings.output.dir / "status.json").read_text())
    (s,) = doc["sources"]
    assert s["state"] == "backing off" and s["http_status"] == 404 and s["failures"] == 1
    assert s["last_error"] == "fetch failed: HTTP 404 Not Found" and s["next_check"]
    assert s["last_attempt"] and s["last_success"] is None and s["adopted_url"] is None
