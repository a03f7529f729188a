"""Takedowns (issue 28): `entries remove ENTRY` takes an entry and its merged copies out of
every output for good; `sources remove ID --purge` removes a source's entries; a removed
source's entries stay listable until then; both are in status.atom."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import write_config
from support.scripted import Reply, ScriptedServer
from test_cli import cli

RSS = {"Content-Type": "application/rss+xml"}


def rss(title: str, *items: tuple[str, str, str]) -> bytes:
    body = "".join(f"<item><title>{t}</title><link>{link}</link><guid>{link}#{t}</guid>"
                   f"<pubDate>{d}</pubDate><description>{t}: the full story.</description>"
                   "</item>" for t, link, d in items)
    return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>{title}</title>"
            f"<link>https://{title.lower()}.example/</link>{body}</channel></rss>").encode()


TRAM = ("Tram line opens downtown", "https://city.example/tram", "Mon, 02 Nov 2026 09:00:00 GMT")
PARK = ("New park in the north", "https://city.example/park", "Tue, 03 Nov 2026 09:00:00 GMT")
WATER = ("Water plan adopted by the agency", "https://agency.example/water",
         "Wed, 04 Nov 2026 09:00:00 GMT")


def add_source(config: Path, source: dict[str, str]) -> None:
    import yaml
    doc = yaml.safe_load(config.read_text())
    doc["sources"].append(source)
    config.write_text(yaml.safe_dump(doc, allow_unicode=True))


def outputs_with(out: Path, text: str) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()
                  and "pagefind" not in p.parts and text.encode() in p.read_bytes())


def hub(tmp_path: Path, server: ScriptedServer) -> Path:
    server.routes["/city"] = Reply(200, rss("City", TRAM, PARK), RSS)
    server.routes["/partner"] = Reply(200, rss("Partner", TRAM, WATER), RSS)  # cross-posts
    return write_config(tmp_path, [
        {"id": "city", "kind": "member", "url": server.url("/city")},
        {"id": "partner", "kind": "partner", "url": server.url("/partner")}])


def test_an_entry_taken_down_leaves_every_output_and_never_comes_back(
        tmp_path: Path, server: ScriptedServer) -> None:
    config = hub(tmp_path, server)
    assert cli("poll", "--config", str(config)).returncode == 0
    out = tmp_path / "feeds"
    assert outputs_with(out, TRAM[0])  # published, as two sources' copies of one story
    removed = cli("entries", "remove", TRAM[1], "--config", str(config))
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.count("removed ") == 2  # the story and its copy
    assert outputs_with(out, TRAM[0]) == []
    assert outputs_with(out, PARK[0]) and outputs_with(out, WATER[0])
    status = (out / "status.atom").read_text()
    assert status.count("taken down by an operator") == 2 and "entry city:" in status
    # the feeds list it again, changed; a third source cross-posts it: it stays out
    server.routes["/city"] = Reply(200, rss("City", (TRAM[0] + "!", *TRAM[1:]), PARK), RSS)
    server.routes["/agency"] = Reply(200, rss("Agency", TRAM), RSS)
    add_source(config, {"id": "agency", "kind": "partner", "url": server.url("/agency")})
    assert cli("poll", "--config", str(config)).returncode == 0
    listed = json.loads(cli("entries", "--json", "--include-duplicates", "--config",
                            str(config)).stdout)
    assert TRAM[1] not in {e["link"] for e in listed}
    assert outputs_with(out, "Tram line opens") == []
    kept_out = cli("entries", "--removed", "--config", str(config)).stdout.split()
    assert f"takedown:{TRAM[1]}" in kept_out and len(kept_out) == 3


def test_removed_source_entries_stay_listable_and_purge_removes_them(
        tmp_path: Path, server: ScriptedServer) -> None:
    config = hub(tmp_path, server)
    assert cli("poll", "--config", str(config)).returncode == 0
    out = tmp_path / "feeds"
    gone = cli("sources", "remove", "partner", "--config", str(config))
    assert "age out with retention (--purge removes them now)" in gone.stdout
    listed = cli("entries", "--source", "partner", "--include-duplicates", "--config",
                 str(config))
    assert listed.returncode == 0 and WATER[0] in listed.stdout, listed.stderr
    # back in the config, then removed with --purge
    add_source(config, {"id": "partner", "kind": "partner", "url": server.url("/partner")})
    purged = cli("sources", "remove", "partner", "--purge", "--config", str(config))
    assert purged.returncode == 0, purged.stderr
    assert "partner: 2 entries removed from the store" in purged.stdout
    assert outputs_with(out, WATER[0]) == []
    assert outputs_with(out, TRAM[0])  # the city's own copy of the shared story stays
    listed = json.loads(cli("entries", "--json", "--include-duplicates", "--config",
                            str(config)).stdout)
    assert {e["source"] for e in listed} == {"city"}
    assert all(e["duplicate_of"] is None for e in listed)
    assert "partner was purged" in (out / "status.atom").read_text()
