"""`aggregator check URL`: a member reads how the hub reads its feed; and its report page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import EXAMPLES, SHIPPED_SOURCES, write_config
from support.scripted import Reply, ScriptedServer
from test_cli import cli

from aggregator import Aggregator
from aggregator.config import load_settings

RSS = {"Content-Type": "application/rss+xml"}


def rss(*items: str) -> bytes:
    return ("<?xml version='1.0'?><rss version='2.0'><channel><title>Ville</title>"
            "<link>https://ville.example/</link><language>fr</language>"
            + "".join(items) + "</channel></rss>").encode()


def item(guid: str, title: str, date: str = "Mon, 14 Jun 2021 09:30:00 +0000",
         category: str = "Résilience", extra: str = "") -> str:
    slug = title.lower().replace(" ", "-")
    return (f"<item><title>{title}</title><link>https://ville.example/{slug}</link>"
            f"<guid isPermaLink='false'>{guid}</guid>"
            + (f"<pubDate>{date}</pubDate>" if date else "")
            + f"<category>{category}</category>{extra}"
            "<description>La ville présente son nouveau plan pour les quartiers.</description>"
            "</item>")



@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, [{"id": "x", "kind": "member",
                                    "url": "https://ville.example/feed"}],
                        poll={"allow_hosts": ["127.0.0.1"]})


def check(config: Path, url: str) -> tuple[int, dict[str, object]]:
    result = cli("check", url, "--json", "--config", str(config))
    return result.returncode, json.loads(result.stdout)


def codes(report: dict[str, object]) -> dict[str, str]:
    return {f["code"]: f["severity"] for f in report["findings"]}  # type: ignore[union-attr, index]


def test_a_good_feed_has_no_errors(config: Path, server: ScriptedServer) -> None:
    server.routes["/feed"] = Reply(200, rss(item("a-1", "Plan climat"),
                                            item("a-2", "Budget participatif")),
                                   RSS | {"ETag": '"v1"'})
    code, report = check(config, server.url("/feed"))
    assert code == 0 and report["ok"] is True
    assert (report["format"], report["entries"]) == ("rss20", 2)
    found = codes(report)
    assert found["caching"] == "info" and found["category-mapped"] == "info"
    assert found["language"] == "info"
    assert not [c for c, s in found.items() if s == "error"]
    assert set(report) >= {"ok", "format", "entries", "findings"}


def test_a_troubled_feed_gets_one_finding_per_trouble(config: Path,
                                                      server: ScriptedServer) -> None:
    first = rss(item("dup", "Plan climat"), item("dup", "Budget participatif"),
                item("b-3", "Fête du quartier", date=""),
                item("b-4", "Marché de nuit", date="le quatorze juin"),
                item("b-5", "Concert en 2999", date="Mon, 14 Jun 2999 09:30:00 +0000",
                     category="Sport et loisirs"),
                item("b-6", "Forum", extra="<content:encoded xmlns:content='http://purl.org"
                     "/rss/1.0/modules/content/'><![CDATA[<p>Ok<script>x()</script></p>]]>"
                     "</content:encoded>"),
                item("b-7", "Résilliance", category="Résiliance"))
    second = first.replace(b"<guid isPermaLink='false'>b-4</guid>",
                           b"<guid isPermaLink='false'>b-4-again</guid>")
    server.routes["/feed"] = [Reply(200, first, RSS), Reply(200, second, RSS)]
    code, report = check(config, server.url("/feed"))
    found = codes(report)
    assert code == 1 and report["ok"] is False
    assert found["ids-duplicated"] == "error" and found["ids-changing"] == "error"
    assert found["dates-missing"] == "warning" and found["dates-unreadable"] == "warning"
    assert found["dates-future"] == "warning" and found["content-sanitized"] == "warning"
    assert found["no-validators"] == "warning" and found["category-unmapped"] == "warning"
    messages = " ".join(f["message"] for f in report["findings"])  # type: ignore[union-attr, index]
    assert "'le quatorze juin'" in messages
    assert "'Résiliance' matches no hub category (closest: 'Resilience')" in messages
    assert len(server.seen) == 2  # read twice, stored nowhere
    assert not (config.parent / "data").exists()


def test_a_page_is_told_which_feed_to_give(config: Path, server: ScriptedServer) -> None:
    server.routes["/news"] = Reply(200, b'<html><head><link rel="alternate" type="application/'
                                   b'rss+xml" href="/feed"></head><body>News</body></html>',
                                   {"Content-Type": "text/html"})
    server.routes["/feed"] = Reply(200, rss(item("a", "Plan")), RSS)
    code, report = check(config, server.url("/news"))
    assert code == 1 and codes(report) == {"page-not-feed": "error"}
    assert server.url("/feed") in report["findings"][0]["message"]  # type: ignore[index]
    text = cli("check", server.url("/gone"), "--config", str(config))
    assert text.returncode == 1 and "fetch-failed" in text.stdout


def test_each_member_has_a_report_page_linked_from_the_sources_page(
        examples_dir: Path) -> None:
    config = write_config(examples_dir, SHIPPED_SOURCES)
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        before_poll = (agg.publish(), agg.settings.output.dir)[1]
        assert "Not read yet" in (before_poll / "members" / "sousse.html").read_text()
        agg.update()
        agg.publish()
        out = agg.settings.output.dir
    page = (out / "members" / "sousse.html").read_text()
    assert "dates-missing" in page and "content-sanitized" in page  # the example's quirks
    assert 'href="members/sousse.html"' in (out / "sources.html").read_text()
    assert (EXAMPLES / "sousse-member-rss2.xml").exists()
