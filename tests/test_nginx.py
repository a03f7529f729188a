"""The nginx example of the README (docs/nginx.conf) serves a real output directory."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, wait_for_http

pytestmark = pytest.mark.slow  # starts nginx


def test_the_nginx_example_serves_the_output(tmp_path: Path, examples_dir: Path) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed (.ci/run installs it)")
        pytest.skip("nginx is not installed")
    from conftest import SHIPPED_SOURCES, write_config

    from aggregator import Aggregator
    from aggregator.config import load_settings

    with Aggregator(load_settings(write_config(examples_dir, SHIPPED_SOURCES)),
                    parse_processes=0) as agg:
        agg.update()
        agg.publish()
        out = agg.settings.output.dir
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    site = (ROOT / "docs" / "nginx.conf").read_text().replace(
        "listen 80;", f"listen 127.0.0.1:{port};").replace("/srv/aggregator/feeds", str(out))
    conf = tmp_path / "nginx.conf"
    # as root, workers would drop to "nobody", which cannot read pytest's private tmp dirs
    user = "user root;" if os.getuid() == 0 else ""
    conf.write_text(f"""{user} daemon off; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;
events {{}}
http {{ access_log off; client_body_temp_path {tmp_path}/body; proxy_temp_path {tmp_path}/proxy;
fastcgi_temp_path {tmp_path}/fcgi; uwsgi_temp_path {tmp_path}/uwsgi; scgi_temp_path {tmp_path}/scgi;
{site} }}
""")
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(tmp_path)],
                            stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(base)

        def get(path: str) -> tuple[int, str, bytes]:
            try:
                with urllib.request.urlopen(base + path, timeout=5) as r:
                    return r.status, r.headers["Content-Type"], r.read()
            except urllib.error.HTTPError as e:
                return e.code, e.headers["Content-Type"] or "", b""

        assert get("")[:2] == (200, "text/html; charset=utf-8")
        assert get("all.atom")[1] == "application/atom+xml; charset=utf-8"
        assert get("all.rss")[1] == "application/rss+xml; charset=utf-8"
        assert get("fr/all.json")[1] == "application/feed+json; charset=utf-8"
        assert get("status.json")[1].startswith("application/json")
        assert get("fr/")[2] == (out / "fr" / "index.html").read_bytes()
        assert get("all.atom")[2] == (out / "all.atom").read_bytes()
        assert get("nope.atom")[0] == 404
    finally:
        proc.terminate()
        proc.wait(timeout=10)
