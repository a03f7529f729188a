"""Every stored string is capped (issue 29): a 1 MB link, id, author or enclosure URL can
no longer fill the outputs; `check` names the fields the caps change."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import write_config
from support.scripted import Reply, ScriptedServer
from test_cli import cli

from aggregator import Aggregator
from aggregator.config import IngestSettings, load_settings
from aggregator.ingest.limits import cap_entry, over_caps
from aggregator.models import Enclosure, EntryData, Image

HUGE = "https://city.example/" + "a" * 1_000_000


def hostile_item() -> str:
    return (f"<item><title>Huge fields</title><link>{HUGE}</link>"
            f"<guid isPermaLink='false'>{'g' * 1_000_000}</guid>"
            f"<author>x@city.example ({'Name ' * 200_000})</author>"
            f"<enclosure url='{HUGE}.mp3' type='audio/mpeg' length='1'/>"
            "<pubDate>Mon, 14 Jun 2021 09:30:00 +0000</pubDate>"
            "<description>Body</description></item>")


def feed(*items: str) -> bytes:
    return ("<?xml version='1.0'?><rss version='2.0'><channel><title>City</title>"
            "<link>https://city.example/</link>" + "".join(items) + "</channel></rss>").encode()


def test_cap_entry_drops_long_urls_digests_long_ids_and_cuts_names() -> None:
    caps = IngestSettings()
    entry = EntryData(guid="g" * 5000, link=HUGE, title="T", authors=("N" * 600, "Short"),
                      enclosures=(Enclosure(HUGE), Enclosure("https://city.example/a.mp3")),
                      image=Image(HUGE))
    assert set(over_caps(entry, caps)) == {"id", "link or media URL", "author"}
    capped = cap_entry(entry, caps)
    assert capped.link is None and capped.image is None
    assert [x.url for x in capped.enclosures] == ["https://city.example/a.mp3"]
    assert capped.guid == cap_entry(entry, caps).guid and capped.guid is not None
    assert capped.guid.startswith("urn:sha256:") and len(capped.guid) == 75
    assert [len(a) for a in capped.authors] == [caps.max_author, 5]
    assert over_caps(capped, caps) == []
    short = EntryData(guid="g", link="https://city.example/1", title="T")
    assert cap_entry(short, caps) == short


def test_a_poll_of_huge_fields_writes_no_big_output(tmp_path: Path,
                                                   server: ScriptedServer) -> None:
    server.routes["/feed"] = Reply(200, feed(hostile_item()),
                                   {"Content-Type": "application/rss+xml"})
    config = write_config(tmp_path, [{"id": "city", "kind": "member",
                                      "url": server.url("/feed")}])
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.update()
        agg.publish()
        (entry,) = agg.entries(source_id="city")
        out = agg.settings.output.dir
    assert entry.link is None and entry.enclosures == ()
    assert len(entry.guid or "") < 100 and all(len(a) <= 500 for a in entry.authors)
    big = {p.name: p.stat().st_size for p in out.rglob("*") if p.is_file() and
           p.stat().st_size > 200_000}
    assert big == {}


def test_check_names_the_capped_fields(tmp_path: Path, server: ScriptedServer) -> None:
    server.routes["/feed"] = Reply(200, feed(hostile_item()),
                                   {"Content-Type": "application/rss+xml"})
    config = write_config(tmp_path, [])
    result = cli("check", server.url("/feed"), "--json", "--config", str(config))
    report = json.loads(result.stdout)
    (capped,) = [f for f in report["findings"] if f["code"] == "fields-capped"]
    assert capped["severity"] == "warning"
    assert "1 entry with a longer id than 2,048 characters" in capped["message"]
    assert "link or media URL than 2,048" in capped["message"]
    assert "author than 500" in capped["message"]
