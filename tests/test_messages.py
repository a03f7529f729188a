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
