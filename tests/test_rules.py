"""Keep and block rules (issue 28): per source and hub-wide, on title, summary, categories
and link; a block wins; check-config refuses what RE2 cannot run; explain names the rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write_config
from support.scripted import Reply, ScriptedServer
from test_cli import cli

from aggregator.config import load_settings
from aggregator.config.rules import Rules
from aggregator.errors import ConfigError
from aggregator.models import EntryData

RSS = {"Content-Type": "application/rss+xml"}


def rss(*items: tuple[str, str, str]) -> bytes:
    body = "".join(f"<item><title>{t}</title><link>{link}</link><category>{c}</category>"
                   "<pubDate>Mon, 02 Nov 2026 09:00:00 GMT</pubDate>"
                   f"<description>About {t}.</description></item>" for t, link, c in items)
    return ("<?xml version='1.0'?><rss version='2.0'><channel><title>City</title>"
            f"<link>https://city.example/</link>{body}</channel></rss>").encode()


ITEMS = [("Council adopts the climate plan", "https://city.example/news/1", "Climate"),
         ("Sponsored: buy our bikes", "https://city.example/news/2", "Mobility"),
         ("Job offer: gardener", "https://city.example/jobs/3", "Jobs"),
         ("Tram line opens", "https://city.example/news/4", "Mobility")]


def test_a_block_wins_over_a_keep_and_fields_are_named() -> None:
    rules = Rules.of(["link:/news/"], ["title:^sponsored"], 3, ["categories:mobility"],
                     ["summary:gardener"])
    verdict = {t: rules.verdict(EntryData(None, link, t, summary=f"About {t}.",
                                          raw_categories=(c,)))
               for t, link, c in ITEMS}
    assert verdict[ITEMS[0][0]] == (True, "kept by rule rules.keep[0]")
    assert verdict[ITEMS[1][0]] == (False, "blocked by rule rules.block[0]")
    assert verdict[ITEMS[2][0]] == (False, "blocked by rule sources[3].block[0]")
    assert verdict[ITEMS[3][0]] == (True, "kept by rule sources[3].keep[0]")
    assert Rules.of([], [], 0, ["tram"], []).verdict(
        EntryData(None, None, "Budget")) == (False, "matches no keep rule")


def test_poll_takes_what_the_rules_keep_and_explain_says_why(
        tmp_path: Path, server: ScriptedServer) -> None:
    server.routes["/feed"] = Reply(200, rss(*ITEMS), RSS)
    config = write_config(tmp_path, [{"id": "city", "kind": "member", "url": server.url("/feed"),
                                      "block": ["link:/jobs/"]}],
                          rules={"block": ["title:^sponsored"]})
    assert cli("poll", "--config", str(config)).returncode == 0
    stored = json.loads(cli("entries", "--json", "--config", str(config)).stdout)
    assert sorted(e["title"] for e in stored) == sorted([ITEMS[0][0], ITEMS[3][0]])
    why = cli("explain", ITEMS[2][1], "--config", str(config))
    assert why.returncode == 0, why.stderr
    assert "not stored blocked by rule sources[0].block[0]" in why.stdout
    why = json.loads(cli("explain", ITEMS[1][1], "--json", "--config", str(config)).stdout)
    assert why["rules"] == "blocked by rule rules.block[0]" and why["source"] == "city"
    kept = cli("explain", ITEMS[0][1], "--config", str(config)).stdout
    assert "rules      no block rule matches" in kept


@pytest.mark.parametrize(("where", "rule"), [("sources", "(?=x)"), ("hub", "title:(a)\\1")])
def test_check_config_refuses_rules_re2_cannot_run(tmp_path: Path, where: str,
                                                   rule: str) -> None:
    source = {"id": "city", "kind": "member", "url": "https://city.example/feed"}
    config = write_config(tmp_path, [source | ({"keep": [rule]} if where == "sources" else {})],
                          **({"rules": {"block": [rule]}} if where == "hub" else {}))
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    key = "sources[0].keep[0]" if where == "sources" else "rules.block[0]"
    assert any(f"{key}: regular expression refused" in e for e in info.value.errors)
