"""Per-source requests (issue 28): extra headers, a user agent and basic-auth credentials
read from an environment variable or a file, sent to the source's own origin only, and
never written to outputs, logs, status or the store."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from conftest import EXAMPLES, write_config
from support.scripted import Reply, ScriptedServer
from test_cli import cli

from aggregator.config import load_settings
from aggregator.errors import ConfigError

FEED = (EXAMPLES / "durban-member-rss1.xml").read_bytes()
SECRET = "s3cr3t-Pa55word"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def everything_written(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in tmp_path.rglob("*")
                    if p.is_file() and p.name not in ("config.yaml", "city.password"))


@pytest.mark.parametrize("via", ["env", "file"])
def test_headers_user_agent_and_credentials_reach_the_source_only(
        tmp_path: Path, server: ScriptedServer, via: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    other = ScriptedServer("127.0.0.2")
    try:
        other.routes["/moved"] = Reply(200, FEED, {"Content-Type": "application/rss+xml"})
        server.routes["/feed"] = Reply(200, FEED, {"Content-Type": "application/rss+xml"})
        server.routes["/old"] = Reply(302, b"", {"Location": other.url("/moved")})
        if via == "env":
            monkeypatch.setenv("CITY_FEED_PASSWORD", SECRET)
            auth = {"username": "hub", "password_env": "CITY_FEED_PASSWORD"}
        else:
            (tmp_path / "city.password").write_text(SECRET + "\n")
            auth = {"username": "hub", "password_file": "city.password"}
        own = {"headers": {"X-Api-Key": "k-42"}, "user_agent": "CityHub/2", "auth": auth}
        config = write_config(tmp_path, [
            {"id": "city", "kind": "member", "url": server.url("/feed")} | own,
            {"id": "moved", "kind": "member", "url": server.url("/old")} | own],
            poll={"allow_hosts": ["127.0.0.0/8"]})
        polled = cli("poll", "-v", "--config", str(config))
        assert polled.returncode == 0, polled.stderr
        (seen,) = server.hits("/feed")
        assert seen.headers["X-Api-Key"] == "k-42" and seen.headers["User-Agent"] == "CityHub/2"
        assert seen.headers["Authorization"] == basic("hub", SECRET)
        (elsewhere,) = other.hits("/moved")  # another origin: none of the source's own
        assert "Authorization" not in elsewhere.headers
        assert "X-Api-Key" not in elsewhere.headers
        assert elsewhere.headers["User-Agent"].startswith("lrg-aggregator")
        assert SECRET.encode() not in everything_written(tmp_path)
        assert SECRET not in polled.stderr + polled.stdout
        status = cli("status", "--json", "--config", str(config)).stdout
        assert SECRET not in status and "Basic" not in status
    finally:
        other.close()


def test_a_missing_password_fails_that_source_plainly(tmp_path: Path,
                                                      server: ScriptedServer) -> None:
    os.environ.pop("NO_SUCH_PASSWORD", None)
    server.routes["/feed"] = Reply(200, FEED, {"Content-Type": "application/rss+xml"})
    config = write_config(tmp_path, [{"id": "city", "kind": "member", "url": server.url("/feed"),
                                      "auth": {"username": "hub",
                                               "password_env": "NO_SUCH_PASSWORD"}}])
    polled = cli("poll", "--config", str(config))
    assert polled.returncode == 0
    assert "auth: the environment variable NO_SUCH_PASSWORD is not set" in polled.stdout
    assert server.hits("/feed") == []


@pytest.mark.parametrize(("source", "message"), [
    ({"auth": {"username": "hub", "password": "x"}}, "auth.password: never in the config"),
    ({"auth": {"username": "hub"}}, "needs exactly one of password_env or password_file"),
    ({"headers": {"Host": "x"}}, "headers.Host: set by the hub itself"),
    ({"headers": {"X-A": "a\r\nX-B: b"}}, "headers.X-A: must be a string without line breaks"),
    ({"user_agent": "a\nb"}, "user_agent: must hold no line break"),
])
def test_bad_request_settings_are_refused(tmp_path: Path, source: dict[str, object],
                                          message: str) -> None:
    config = write_config(tmp_path, [{"id": "city", "kind": "member",
                                      "url": "https://city.example/feed"} | source])
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    assert any(message in e for e in info.value.errors), info.value.errors
