"""The command line on real files: in this process (support/cli.py), and as a real process
where the process itself is tested (what it imports, a terminal, another writer's lock)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import SHIPPED_SOURCES, FeedServer, http_sources, write_config
from support.cli import run_cli

from aggregator import __version__

COMMANDS = ["run", "poll", "build", "serve", "status", "entries", "check-config", "sources"]


def process(*args: str) -> subprocess.CompletedProcess[str]:
    """``aggregator ARGS`` as a process of its own."""
    return subprocess.run([sys.executable, "-m", "aggregator", *args], capture_output=True,
                          text=True, timeout=60)


cli = run_cli


@pytest.fixture
def config(examples_dir: Path) -> Path:
    return write_config(examples_dir, SHIPPED_SOURCES)


def test_version() -> None:
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"aggregator {__version__}"


HEAVY = ("feedparser", "lxml", "jinja2", "requests", "babel")


@pytest.mark.parametrize("args", [["--version"], ["entries", "--count"]])
def test_quick_commands_do_not_import_the_heavy_libraries(config: Path, args: list[str]
                                                          ) -> None:
    """`aggregator --version` and `entries --count` start in a few tens of milliseconds:
    parsing, rendering and fetching libraries are imported where they are used."""
    probe = ("import runpy, sys\n"
             f"sys.argv = ['aggregator', *{args!r}, '--config', {str(config)!r}]"
             f"[:{len(args) + 1 if args == ['--version'] else len(args) + 3}]\n"
             "try:\n    runpy.run_module('aggregator', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("command", COMMANDS)
def test_help_for_each_command(command: str) -> None:
    result = cli(command, "--help")
    assert result.returncode == 0
    assert f"usage: aggregator {command}" in result.stdout and "--config" in result.stdout


def test_check_config(config: Path) -> None:
    result = cli("check-config", "--config", str(config))
    assert result.returncode == 0 and "ok (8 sources, 5 categories)" in result.stdout


def test_check_config_warns_of_sources_every_fetch_will_refuse(examples_dir: Path) -> None:
    config = write_config(examples_dir, [
        {"id": "loop", "url": "http://127.0.0.1:8080/feed.xml", "kind": "member"},  # allowed
        {"id": "loop2", "url": "http://127.0.0.2/feed.xml", "kind": "member"},
        {"id": "meta", "url": "http://169.254.169.254/latest", "kind": "member"},
        {"id": "local", "url": "http://[::1]/feed", "kind": "member"},
        {"id": "ok", "url": "https://example.org/feed.xml", "kind": "member"}])
    result = cli("check-config", "--config", str(config))
    assert result.returncode == 0  # a warning: allow_hosts may be the fix, or nothing
    warned = [line.split(":")[1].split()[-1] for line in result.stdout.splitlines()
              if line.startswith("warning:")]
    assert warned == ["loop2", "meta", "local"]  # write_config allows 127.0.0.1 only
    assert "every fetch will be refused (allow it with poll.allow_hosts)" in result.stdout


def test_bad_config_exits_1_naming_the_key(examples_dir: Path) -> None:
    bad = write_config(examples_dir, [{"id": "x", "url": "gopher://x.org/", "kind": "member"}])
    for command in ("check-config", "poll", "status", "build", "entries"):
        result = cli(command, "--config", str(bad))
        assert result.returncode == 1, command
        assert "sources[0].url: must be an http or https URL" in result.stderr
        assert "Traceback" not in result.stderr


def test_poll_prints_a_line_per_source_and_a_total(config: Path) -> None:
    result = cli("poll", "--config", str(config))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 9
    assert lines[0].split()[:4] == ["sousse", "updated", "3", "new,"]
    assert lines[-1] == "total: 8 sources, 25 new, 0 updated, 0 failed"
    assert result.stderr == ""  # not a terminal: no progress, and nothing went wrong
    assert (config.parent / "feeds" / "all.atom").is_file()


def test_config_before_or_after_the_command_and_from_env(config: Path) -> None:
    assert cli("poll", "--config", str(config)).returncode == 0
    after = cli("entries", "--count", "--config", str(config)).stdout
    before = cli("--config", str(config), "entries", "--count").stdout
    env = cli("entries", "--count", env={"AGGREGATOR_CONFIG": str(config)}).stdout
    default = cli("entries", "--count", cwd=config.parent).stdout
    assert after == before == env == default == "23\n"


def test_poll_named_source_and_failures(examples_dir: Path) -> None:
    sources = [*SHIPPED_SOURCES, {"id": "broken", "name": "Broken", "kind": "member",
                                  "url": "http://127.0.0.1:9/feed.xml"}]
    config = write_config(examples_dir, sources)
    result = cli("poll", "--source", "durban", "--source", "broken", "--config", str(config))
    assert result.returncode == 0
    assert "total: 2 sources, 3 new, 0 updated, 1 failed" in result.stdout
    assert "source broken: fetch failed" in result.stderr  # log lines name the source
    unknown = cli("poll", "--source", "nope", "--config", str(config))
    assert unknown.returncode == 1 and "unknown source id(s): nope" in unknown.stderr


def test_entries_filters_and_json(config: Path) -> None:
    cli("poll", "--config", str(config))
    count = cli("entries", "--category", "resilience", "--count", "--config", str(config))
    assert count.stdout == "5\n"  # the blog's "Résilience, Resiliencia" post too
    listed = cli("entries", "--source", "durban", "--config", str(config)).stdout
    assert len(listed.strip().splitlines()) == 3 and "Go!Durban" in listed
    data = json.loads(cli("entries", "--json", "--category", "mobility",
                          "--config", str(config)).stdout)
    assert {d["source"] for d in data} == {"durban", "bogota", "barcelona", "montreal",
                                           "network-blog"}
    assert all("mobility" in d["categories"] for d in data)
    bad = cli("entries", "--category", "sport", "--config", str(config))
    assert bad.returncode == 1 and "unknown category id 'sport'" in bad.stderr


def test_status_table_and_json(config: Path) -> None:
    before = json.loads(cli("status", "--json", "--config", str(config)).stdout)
    assert {s["state"] for s in before} == {"never polled"}
    cli("poll", "--config", str(config))
    data = json.loads(cli("status", "--json", "--config", str(config)).stdout)
    sousse = next(s for s in data if s["id"] == "sousse")
    assert sousse["state"] == "active" and sousse["entries"] == 3 and sousse["failures"] == 0
    assert sousse["last_success"] and sousse["next_check"] > sousse["last_attempt"]
    assert sousse["url"] == "path:examples/sousse-member-rss2.xml"  # no server paths shown
    table = cli("status", "--config", str(config), env={"TZ": "America/Bogota"}
                ).stdout.splitlines()
    assert table[0] == "times in -05 (UTC-05:00)"  # local time, the zone named once
    assert table[1].split()[:2] == ["SOURCE", "STATE"] and len(table) == 10
    assert all(len(line) <= 100 for line in table)
    local = datetime.fromisoformat(sousse["last_success"]).astimezone(ZoneInfo("America/Bogota"))
    assert f"{local:%m-%d %H:%M}" in next(line for line in table if line.startswith("sousse"))
    wide = cli("status", "--wide", "--config", str(config)).stdout.splitlines()
    assert "LAST ATTEMPT" in wide[1] and len(wide) == 10


def test_status_says_when_a_host_holds_a_source(tmp_path: Path) -> None:
    from aggregator.cli.tables import status_table
    from aggregator.models import SourceHealth
    held = SourceHealth("city", "City", "member", "https://city.example/", "backing off",
                        None, None, 429, 0, "fetch failed: HTTP 429", "2026-12-01T10:00:00+00:00",
                        0, held_until="2026-12-01T10:00:00+00:00",
                        warning="x" * 300)
    [_, _, row, notes] = status_table([held])  # too little room left: a line of their own
    assert row.startswith("city") and "held" not in row
    assert notes.startswith("    held by host until") and len(notes) == 100
    assert notes.endswith("…")
    assert "x" * 300 in status_table([held], wide=True)[2]
    roomy = SourceHealth("c", "C", "member", "u", "active", None, None, None, 0, None, None, 0,
                         warning="short note")
    [_, _, row] = status_table([roomy])
    assert row.endswith("warning: short note")


def test_build_rewrites_outputs_from_the_store(config: Path) -> None:
    cli("poll", "--config", str(config))
    feeds = config.parent / "feeds"
    (feeds / "all.atom").unlink()
    result = cli("build", "--config", str(config))
    assert result.returncode == 0 and "1 file(s) written" in result.stdout
    assert (feeds / "all.atom").is_file()


def test_corrupt_store_is_reported_not_crashed(config: Path) -> None:
    store = config.parent / "data" / "store.json"
    store.parent.mkdir()
    store.write_text("{broken")
    result = cli("poll", "--config", str(config))
    assert result.returncode == 1 and "not a valid store file" in result.stderr
    assert "Traceback" not in result.stderr and store.read_text() == "{broken"


@pytest.mark.slow  # the command as a process on a pseudo-terminal
def test_progress_on_a_terminal(config: Path) -> None:
    leader, follower = pty.openpty()
    proc = subprocess.run([sys.executable, "-m", "aggregator", "poll", "--config", str(config)],
                          stdout=subprocess.PIPE, stderr=follower, timeout=60)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert proc.returncode == 0
    assert b"[8/8] sources polled, 25 new entries, 0 failed" in shown


def test_verbose_logs_name_each_source(config: Path) -> None:
    result = cli("poll", "-v", "--config", str(config))
    assert "source montreal: 3 entries (atom10)" in result.stderr
    assert " INFO " in result.stderr or " DEBUG " in result.stderr


def test_verbose_poll_shows_each_request_and_json_logs(tmp_path: Path,
                                                       feed_server: FeedServer) -> None:
    config = write_config(tmp_path, http_sources(feed_server)[:2])
    first = cli("poll", "-v", "--config", str(config)).stderr
    line = next(x for x in first.splitlines() if "source sousse: GET" in x)
    assert "-> 200" in line and "bytes; sent no validators; got ETag=" in line
    second = cli("poll", "-v", "--log-format", "json", "--config", str(config)).stderr
    records = [json.loads(x) for x in second.splitlines()]
    request = next(r for r in records if r.get("source") == "sousse"
                   and r["message"].startswith("source sousse: GET"))
    assert request["level"] == "debug" and request["logger"] == "aggregator.ingest"
    assert request["fields"]["status"] == 304 and request["fields"]["sent"]["If-None-Match"]
    assert {"time", "level", "logger", "message"} <= set(records[0])


def test_sources_enable(examples_dir: Path) -> None:
    from aggregator.models import SourceState
    from aggregator.store import open_store

    config = write_config(examples_dir, SHIPPED_SOURCES)
    store = open_store(examples_dir / "data" / "store.json")
    store.apply([], [SourceState("durban", gone=True, failures=1, last_error="HTTP 410 Gone")])
    store.close()
    status = json.loads(cli("status", "--json", "--config", str(config)).stdout)
    assert next(s for s in status if s["id"] == "durban")["state"] == "gone"
    polled = cli("poll", "--config", str(config)).stdout
    assert "durban" not in polled and "total: 7 sources" in polled  # gone: not polled
    result = cli("sources", "enable", "durban", "--config", str(config))
    assert result.returncode == 0 and "durban: re-enabled" in result.stdout
    assert "durban" in cli("poll", "--config", str(config)).stdout
    unknown = cli("sources", "enable", "nope", "--config", str(config))
    assert unknown.returncode == 1 and "no source with id 'nope'" in unknown.stderr


OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>Network feeds</title></head><body>
<outline text="Members">
  <outline type="rss" text="Ville de Lyon" xmlUrl="https://www.lyon.example/rss.xml"/>
  <outline type="rss" text="Ciudad de M\xc3\xa9xico" xmlUrl="https://cdmx.example/feed"/>
  <outline type="rss" text="Again Sousse" xmlUrl="https://www.sousse.example/feed.xml"/>
  <outline type="rss" text="Bad" xmlUrl="javascript:alert(1)"/>
</outline>
<outline text="Partners">
  <outline type="rss" text="UN Programme" xmlUrl="https://un-programme.example/news.atom"/>
</outline></body></opml>
"""


def test_sources_import_keeps_comments_and_validates(examples_dir: Path) -> None:
    import shutil

    from conftest import ROOT

    config = examples_dir / "config.yaml"
    shutil.copyfile(ROOT / "config.yaml", config)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("  - id: sousse\n", "  - id: sousse\n    url: "
                                   "https://www.sousse.example/feed.xml\n", 1).replace(
        "    path: examples/sousse-member-rss2.xml\n", "", 1), encoding="utf-8")
    before = config.read_text(encoding="utf-8")
    opml = examples_dir / "network.opml"
    opml.write_bytes(OPML)
    result = cli("sources", "import", str(opml), "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "added ville-de-lyon" in result.stdout and "added ciudad-de-mexico" in result.stdout
    assert "skipped https://www.sousse.example/feed.xml: already configured" in result.stdout
    assert "skipped 'javascript:alert(1)': not an http or https URL" in result.stdout
    after = config.read_text(encoding="utf-8")
    assert after.startswith(before.split("sources:")[0])  # comments and sections untouched
    assert "# Real sources are polled over HTTP(S); uncomment and adapt:" in after
    from aggregator.config import load_settings
    settings = load_settings(config)
    added = {s.id: s for s in settings.sources[-3:]}
    assert added["un-programme"].kind == "partner" and added["ville-de-lyon"].kind == "member"
    assert added["ciudad-de-mexico"].name == "Ciudad de México"
    again = cli("sources", "import", str(opml), "--config", str(config))
    assert "0 source(s) added" in again.stdout and config.read_text(encoding="utf-8") == after


def test_sources_import_of_a_non_opml_file(examples_dir: Path) -> None:
    config = write_config(examples_dir, SHIPPED_SOURCES)
    bad = examples_dir / "bad.opml"
    bad.write_text("this is not OPML")
    before = config.read_bytes()
    result = cli("sources", "import", str(bad), "--config", str(config))
    assert result.returncode == 1 and "not an OPML subscription list" in result.stderr
    assert config.read_bytes() == before


def test_merged_copies_stay_visible(config: Path) -> None:
    cli("poll", "--config", str(config))
    total = int(cli("entries", "--count", "--config", str(config)).stdout)
    every = int(cli("entries", "--count", "--include-duplicates", "--config",
                    str(config)).stdout)
    assert every == total + 2  # the partner's cross-post of Sousse's plan; the blog's repost
    copies = {d["source"]: d for d in json.loads(cli(
        "entries", "--json", "--include-duplicates", "--config", str(config)).stdout)
        if d["duplicate_of"]}
    assert sorted(copies) == ["network-blog", "resilience-programme"]
    assert copies["resilience-programme"]["merge_reason"].startswith("same link as sousse:")
    assert copies["network-blog"]["merge_reason"].startswith("same link as migration-")
    status = {s["id"]: s for s in json.loads(cli("status", "--json", "--config",
                                                 str(config)).stdout)}
    assert status["resilience-programme"]["merged"] == 1 and status["sousse"]["merged"] == 0
    table = cli("status", "--config", str(config)).stdout.splitlines()
    assert "MERGED" in table[1]


def test_readme_test_command_needs_no_sudo_as_root() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    command = next(line for line in readme.splitlines() if "apt-get install" in line)
    prefix = command.split("apt-get")[0].strip()
    # the prefix decides at run time: nothing as root, sudo for a user
    as_root = subprocess.run(["sh", "-c", f"echo {prefix}"], capture_output=True, text=True,
                             check=True).stdout.strip()
    assert as_root == ("" if os.getuid() == 0 else "sudo")
    assert "sources import" in readme


def test_a_poll_beside_another_writer_fails_at_once(config: Path) -> None:
    from aggregator.store import open_store
    holder = open_store(config.parent / "data" / "store.json")  # another poll, not a service
    try:
        result = process("poll", "--config", str(config))  # another process's lock
    finally:
        holder.close()
    assert result.returncode == 1 and "open for writing by another" in result.stderr
