"""The site in a real browser (Debian's chromium driven by Playwright) and the combined feed
in a real feed reader (newsboat), both against `aggregator serve` on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import EXAMPLES, SHIPPED_SOURCES, wait_for_http, write_config

from aggregator import Aggregator
from aggregator.config import load_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # chromium: `-m 'not slow'` skips it

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def need(binary: str) -> str:
    found = shutil.which(binary) or (f"/usr/bin/{binary}"
                                     if Path(f"/usr/bin/{binary}").exists() else None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{binary} is not installed (.ci/run installs it)")
        pytest.skip(f"{binary} is not installed (apt-get install {binary})")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Aggregator]]:
    root = tmp_path_factory.mktemp("site")
    shutil.copytree(EXAMPLES, root / "examples")
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    config = write_config(root, SHIPPED_SOURCES, serve={"host": "127.0.0.1", "port": port},
                          hub={"title": "Test hub", "base_url": base,
                               "id": "tag:hub.test,2026:", "languages": ["en", "fr", "es"]})
    agg = Aggregator(load_settings(config), parse_processes=0)
    agg.update()
    agg.publish()
    server = subprocess.Popen([sys.executable, "-m", "aggregator", "serve", "--config",
                               str(config)], stderr=subprocess.DEVNULL)
    try:
        wait_for_http(base)
        yield base, agg
    finally:
        server.terminate()
        server.wait(timeout=10)
        agg.close()


def test_the_page_in_a_real_browser(served: tuple[str, Aggregator]) -> None:
    chromium = need("chromium")
    from playwright.sync_api import sync_playwright

    base, agg = served
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        # third-party images in the news (member sites) come from a stand-in for the web
        page.route(lambda url: not url.startswith(base),
                   lambda route: route.fulfill(status=200, content_type="image/png",
                                               body=PNG))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base)
        titles = page.locator("article h3").all_inner_texts()
        assert titles == [e.title for e in agg.store.entries()]
        assert page.locator("html").get_attribute("lang") == "en"
        alternates = page.locator("link[rel=alternate]")
        types = {alternates.nth(i).get_attribute("type") for i in range(alternates.count())}
        assert types == {"application/atom+xml", "application/rss+xml",
                         "application/feed+json"}
        assert page.locator("main").count() == 1 and page.locator("nav").count() == 1
        page.get_by_role("link", name="Resilience").first.click()
        page.wait_for_url("**/category/resilience.html")
        assert page.locator("article h3").all_inner_texts() == [
            e.title for e in agg.store.entries(category="resilience")]
        assert page.locator("link[rel=alternate][type='application/atom+xml']"
                            ).get_attribute("href") == "../resilience.atom"
        page.get_by_role("link", name="Français").click()
        page.wait_for_url("**/fr/index.html")
        assert page.locator("html").get_attribute("lang") == "fr"
        assert page.get_by_role("heading", name="Catégories").count() == 1
        page.set_viewport_size({"width": 390, "height": 844})  # a phone
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "river-fr-phone.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # nothing overflows sideways
        page.goto(base + "sources.html")
        assert page.locator("table tbody tr").count() == len(SHIPPED_SOURCES)
        browser.close()
    assert errors == []
    assert (ARTIFACTS / "river-fr-phone.png").stat().st_size > 10_000


def test_a_real_feed_reader_subscribes(served: tuple[str, Aggregator], tmp_path: Path) -> None:
    newsboat = need("newsboat")
    base, agg = served
    urls = tmp_path / "urls"
    urls.write_text(base + "all.atom\n")
    cache = tmp_path / "cache.db"
    env = {**os.environ, "HOME": str(tmp_path)}
    subprocess.run([newsboat, "-u", str(urls), "-c", str(cache), "-x", "reload"],
                   check=True, timeout=60, env=env, capture_output=True)
    with sqlite3.connect(cache) as db:
        rows = db.execute("SELECT guid, title, url FROM rss_item").fetchall()
    stored = {e.entry_id: e for e in agg.store.entries()}
    assert len(rows) == len(stored) == 23
    for guid, title, url in rows:
        assert title == stored[guid].title and url == (stored[guid].link or "")
