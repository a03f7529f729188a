"""`aggregator sources add / list / remove / disable / enable`: config edits that keep the
operator's comments, and feed discovery through the hub's own fetcher."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT
from support.scripted import Reply, ScriptedServer
from test_cli import cli

from aggregator.config import load_settings

FEED = (EXAMPLES / "durban-member-rss1.xml").read_bytes()
ATOM = (EXAMPLES / "montreal-member-atom.xml").read_bytes()
HTML = {"Content-Type": "text/html; charset=utf-8"}



@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The shipped config, with the test server's address allowed."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    text = (ROOT / "config.yaml").read_text().replace(
        "  allow_hosts: []", "  allow_hosts: [127.0.0.1]  # the test server")
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def page(*links: str) -> bytes:
    heads = "".join(f'<link rel="alternate" type="{t}" href="{h}" title="x">'
                    for h, t in (link.split("|") for link in links))
    return f"<html><head>{heads}</head><body><p>News</p></body></html>".encode()


def test_add_finds_the_announced_feeds_and_keeps_comments(config: Path,
                                                         server: ScriptedServer) -> None:
    server.routes["/news"] = Reply(200, page("/feed.rss|application/rss+xml",
                                             "atom.xml|application/atom+xml"), HTML)
    server.routes["/feed.rss"] = Reply(200, FEED, {"Content-Type": "application/rss+xml"})
    server.routes["/atom.xml"] = Reply(200, ATOM, {"Content-Type": "application/atom+xml"})
    before = config.read_text()
    added = cli("sources", "add", server.url("/news"), "--kind", "partner", "--category",
                "mobility", "--config", str(config))
    assert added.returncode == 0, added.stderr
    assert f"added: {server.url('/feed.rss')}" in added.stdout
    assert f"found: {server.url('/atom.xml')}" in added.stdout
    after = config.read_text()
    assert after.startswith(before.split("sources:")[0])  # comments and order kept
    assert "# Bundled example feeds" in after
    source = load_settings(config).sources[-1]
    assert (source.url, source.kind, source.categories) == (
        server.url("/feed.rss"), "partner", ("mobility",))
    again = cli("sources", "add", server.url("/feed.rss"), "--config", str(config))
    assert again.returncode == 1 and "already configured" in again.stderr
    assert config.read_text() == after


def test_add_tries_common_paths_then_suggests_selectors(config: Path,
                                                       server: ScriptedServer) -> None:
    server.routes["/site/"] = Reply(200, page(), HTML)
    server.routes["/feed"] = Reply(200, FEED, {"Content-Type": "application/rss+xml"})
    found = cli("sources", "add", server.url("/site/"), "--id", "durban-2",
                "--config", str(config))
    assert found.returncode == 0 and f"added: {server.url('/feed')}" in found.stdout
    assert load_settings(config).sources[-1].id == "durban-2"
    server.routes["/feed"] = Reply(404, b"")
    server.routes["/bare/"] = Reply(200, page(), HTML)
    before = config.read_text()
    none = cli("sources", "add", server.url("/bare/"), "--config", str(config))
    assert none.returncode == 1 and "scrape:" in none.stderr and "item:" in none.stderr
    assert config.read_text() == before


def test_a_guarded_address_is_refused(config: Path) -> None:
    refused = cli("sources", "add", "http://169.254.169.254/latest/", "--config", str(config))
    assert refused.returncode == 1 and "169.254.169.254" in refused.stderr


def test_list_remove_disable_enable(config: Path) -> None:
    listed = cli("sources", "list", "--config", str(config)).stdout.splitlines()
    assert len(listed) == 8 and listed[-1].split()[:2] == ["network-blog", "partner"]
    assert "[scraped]" in listed[-1]
    assert cli("sources", "disable", "durban", "--config", str(config)).returncode == 0
    assert not {s.id: s for s in load_settings(config).sources}["durban"].enabled
    assert "durban" in cli("sources", "list", "--config", str(config)).stdout
    polled = cli("poll", "--config", str(config)).stdout
    assert "durban" not in polled and "total: 7 sources" in polled
    enabled = cli("sources", "enable", "durban", "--config", str(config))
    assert enabled.returncode == 0 and "enabled in" in enabled.stdout
    assert {s.id: s for s in load_settings(config).sources}["durban"].enabled
    removed = cli("sources", "remove", "bogota", "--config", str(config))
    assert removed.returncode == 0
    assert "bogota" not in {s.id for s in load_settings(config).sources}
    assert "# Bundled example feeds" in config.read_text()
    unknown = cli("sources", "remove", "nope", "--config", str(config))
    assert unknown.returncode == 1 and "no source with id 'nope'" in unknown.stderr
