"""Messages an operator or member reads (issue 28): plain words, format names, plurals."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import EXAMPLES, write_config
from support.scripted import Reply, ScriptedServer
from test_cli import cli


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, [])


def test_check_speaks_plainly(config: Path, server: ScriptedServer) -> None:
    import socket
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    server.routes["/logo.png"] = Reply(200, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200),
                                       {"Content-Type": "image/png"})
    server.routes["/feed"] = Reply(200, (EXAMPLES / "sousse-member-rss2.xml").read_bytes(),
                                   {"Content-Type": "application/rss+xml"})
    said = {
        "path": cli("check", "/etc/hostname", "--config", str(config)).stdout,
        "refused": cli("check", f"http://127.0.0.1:{closed}/feed", "--config",
                       str(config)).stdout,
        "binary": cli("check", server.url("/logo.png"), "--config", str(config)).stdout,
        "feed": cli("check", server.url("/feed"), "--config", str(config)).stdout,
    }
    assert "/etc/hostname is not a web address" in said["path"]
    assert "connection refused (nothing listens at that address and port)" in said["refused"]
    assert "sends binary data (image/png" in said["binary"]
    assert ": RSS 2.0, 3 entries" in said["feed"] and "An RSS 2.0 feed with 3 entries." in \
        said["feed"]
    assert "1 entry has no date" in said["feed"]
    for text in said.values():
        assert "Error(" not in text and "('" not in text and "rss20" not in text


def test_check_config_sorts_errors_by_line_and_suggests(tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"id": "city", "kind": "member", "url": "https://c.example/f",
                                      "categories": ["resilence"], "intervall": "2h"}],
                          poll={"workers": 0}, serve={"prot": 8080})
    checked = cli("check-config", "--config", str(config))
    errors = [line for line in checked.stderr.splitlines() if "config.yaml:" in line]
    lines = [int(e.split("config.yaml:")[1].split(":")[0]) for e in errors]
    assert lines == sorted(lines) and len(errors) == 4, checked.stderr
    assert "sources[0].intervall: unknown key (did you mean 'interval'?)" in checked.stderr
    assert "unknown category id 'resilence' (did you mean 'resilience'?)" in checked.stderr
    assert "serve.prot: unknown key (did you mean 'port'?)" in checked.stderr
    polled = cli("poll", "--source", "citty", "--config", str(write_config(tmp_path, [
        {"id": "city", "kind": "member", "url": "https://c.example/f"}])))
    assert "did you mean 'city'?" in polled.stderr


def test_sources_add_refuses_a_taken_id_or_unknown_category_before_fetching(
        tmp_path: Path, server: ScriptedServer) -> None:
    config = write_config(tmp_path, [{"id": "city", "kind": "member",
                                      "url": "https://c.example/f"}])
    taken = cli("sources", "add", server.url("/feed"), "--id", "city", "--config", str(config))
    assert taken.returncode != 0 and "already configured" in taken.stderr
    unknown = cli("sources", "add", server.url("/feed"), "--category", "mobilty", "--config",
                  str(config))
    assert unknown.returncode != 0 and "did you mean 'mobility'?" in unknown.stderr
    assert server.seen == []  # nothing fetched
    server.routes["/page"] = Reply(200, b"<html><body><p>No feed here</p></body></html>",
                                   {"Content-Type": "text/html"})
    page = cli("sources", "add", server.url("/page"), "--id", "city-blog", "--config",
               str(config))
    assert page.returncode == 1 and "  - id: city-blog\n" in page.stderr


def test_json_logs_hold_the_libraries_lines_too() -> None:
    import argparse
    import contextlib
    import io
    import json
    import logging

    from aggregator.cli.main import setup_logging
    log, root = logging.getLogger("aggregator"), logging.getLogger()
    saved = (log.handlers[:], log.level, log.propagate, root.handlers[:], root.level)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            setup_logging(argparse.Namespace(command="run", log_format="json"))
            logging.getLogger("apscheduler.executors.default").warning(
                "Run time of job %r was missed by %s", "tick", "0:00:05")
            logging.getLogger("aggregator.service").info("serving")
    finally:
        log.handlers[:], log.level, log.propagate = saved[:3]
        root.handlers[:], root.level = saved[3:]
    records = [json.loads(line) for line in err.getvalue().splitlines()]
    assert [r["logger"] for r in records] == ["apscheduler.executors.default",
                                             "aggregator.service"]
    assert records[0]["level"] == "warning" and "was missed by" in records[0]["message"]


def test_opml_import_names_sources_by_title_before_text(tmp_path: Path) -> None:
    import yaml
    config = write_config(tmp_path, [])
    opml = tmp_path / "list.opml"
    opml.write_text('<?xml version="1.0"?><opml version="2.0"><head><title>L</title></head>'
                    '<body><outline text="UN-H" title="UN-Habitat news" type="rss" '
                    'xmlUrl="https://unhabitat.example/feed"/><outline text="Only text" '
                    'type="rss" xmlUrl="https://city.example/feed"/></body></opml>')
    done = cli("sources", "import", str(opml), "--config", str(config))
    assert done.returncode == 0, done.stderr
    names = {s["url"]: s["name"] for s in yaml.safe_load(config.read_text())["sources"]}
    assert names == {"https://unhabitat.example/feed": "UN-Habitat news",
                     "https://city.example/feed": "Only text"}


def test_run_on_a_busy_port_fails_before_writing_any_output(tmp_path: Path) -> None:
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        (tmp_path / "city.xml").write_bytes((EXAMPLES / "durban-member-rss1.xml").read_bytes())
        config = write_config(tmp_path, [{"id": "city", "kind": "member", "path": "city.xml"}],
                              serve={"host": "127.0.0.1", "port": port})
        ran = cli("run", "--config", str(config))
    assert ran.returncode != 0 and f"cannot listen on 127.0.0.1:{port}" in ran.stderr
    out = tmp_path / "feeds"
    assert not out.exists() or not any(out.iterdir())
    assert not (tmp_path / "data" / "store.json.service").exists()
