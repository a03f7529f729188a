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
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, SHIPPED_SOURCES, wait_for_http, write_config

from aggregator import Aggregator
from aggregator.config import load_settings
from aggregator.models import Image

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


PER_PAGE = 5  # small pages, so the 23 shipped stories make archive pages
AXE = Path(__file__).resolve().parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
PICTURE = "https://img.bogota.example/cicloruta.png"  # answered by the stand-in for the web
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Aggregator]]:
    root = tmp_path_factory.mktemp("site")
    shutil.copytree(EXAMPLES, root / "examples")
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    config = write_config(root, SHIPPED_SOURCES, serve={"host": "127.0.0.1", "port": port},
                          hub={"title": "Test hub", "base_url": base,
                               "id": "tag:hub.test,2026:", "languages": ["en", "fr", "es"]},
                          output={"dir": "feeds", "entries_per_feed": PER_PAGE})
    agg = Aggregator(load_settings(config), parse_processes=0)
    agg.update()
    [pictured, *_] = agg.store.entries(source_id="bogota")
    agg.store.apply([replace(pictured, image=Image(PICTURE, 640, 360),
                             content_hash="pictured")], [])
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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = need("chromium")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def open_page(browser: Any, base: str, errors: list[str], **context: Any) -> Any:
    """A tab whose third-party requests (members' pictures) go to a stand-in for the web,
    and whose console errors are collected."""
    page = browser.new_context(**context).new_page()
    page.route(lambda url: not url.startswith(base),
               lambda route: route.fulfill(status=200, content_type="image/png", body=PNG))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]


def titles(page: Any) -> list[str]:
    return [" ".join(t.split()) for t in page.locator("article h2").all_inner_texts()]


def test_each_language_home_page(served: tuple[str, Aggregator], browser: Any) -> None:
    base, _ = served
    errors: list[str] = []
    page = open_page(browser, base, errors)
    headings = {"": "Latest news", "en/": "News in English",
                "fr/": "Actualités en français", "es/": "Noticias en español"}
    for tree, heading in headings.items():
        page.goto(base + tree + "index.html")
        assert page.locator("html").get_attribute("lang") == (tree[:-1] or "en")
        assert page.get_by_role("heading", level=1).inner_text() == heading
        assert 0 < len(titles(page)) <= PER_PAGE
        hreflangs = page.locator("link[rel=alternate][hreflang]")
        assert {hreflangs.nth(i).get_attribute("hreflang") for i in range(hreflangs.count())
                } == {"x-default", "en", "fr", "es"}
        shot(page, f"home-{tree[:-1] or 'all'}")
    page.goto(base + "index.html")
    page.get_by_role("link", name="Resilience").first.click()
    page.wait_for_url("**/category/resilience.html")
    page.get_by_role("link", name="Español").click()  # the switch keeps the page
    page.wait_for_url("**/es/category/resilience.html")
    assert page.get_by_role("heading", level=1).inner_text() == "Resiliencia"
    assert errors == []


def test_category_page(served: tuple[str, Aggregator], browser: Any) -> None:
    base, agg = served
    errors: list[str] = []
    page = open_page(browser, base, errors)
    page.goto(base + "fr/index.html")
    page.get_by_role("link", name="Migration").first.click()
    page.wait_for_url("**/fr/category/migration.html")
    wanted = [e.title for e in agg.store.entries(category="migration")
              if (e.language or "en").startswith("fr")]
    assert titles(page) == wanted[:PER_PAGE]
    assert page.locator("link[rel=alternate][type='application/atom+xml']").get_attribute(
        "href") == "../../fr/migration.atom"
    shot(page, "category-fr")
    assert errors == []


def test_archive_pages_lead_back_to_the_first_story(served: tuple[str, Aggregator],
                                                    browser: Any) -> None:
    base, agg = served
    errors: list[str] = []
    page = open_page(browser, base, errors)
    page.goto(base + "index.html")
    seen = titles(page)
    while page.locator("a[rel=next]").count():  # "Older"
        page.locator("a[rel=next]").click()
        page.wait_for_load_state()
        seen += titles(page)
    assert "/page/1.html" in page.url
    shot(page, "archive-page-1")
    assert sorted(seen) == sorted(e.title for e in agg.store.entries())
    page.goto(base + "archive.html")
    page.get_by_role("link", name="May 2021").click()
    page.wait_for_url("**/month/2021-05.html")
    assert len(titles(page)) == sum(1 for e in agg.store.entries()
                                    if e.published.strftime("%Y-%m") == "2021-05")
    assert errors == []


def test_a_picture_beside_its_entry(served: tuple[str, Aggregator], browser: Any) -> None:
    base, _ = served
    errors: list[str] = []
    page = open_page(browser, base, errors)
    page.goto(base + "source/bogota.html")
    picture = page.locator(f"img.pic[src='{PICTURE}']")
    assert picture.get_attribute("loading") == "lazy"
    assert (picture.get_attribute("width"), picture.get_attribute("height")) == ("160", "90")
    picture.scroll_into_view_if_needed()
    page.wait_for_function("document.querySelector('img.pic').complete")
    assert page.evaluate("document.querySelector('img.pic').naturalWidth") == 1
    shot(page, "source-bogota")
    assert errors == []


def test_search_finds_a_known_title(served: tuple[str, Aggregator], browser: Any) -> None:
    base, agg = served
    errors: list[str] = []
    page = open_page(browser, base, errors)
    [known] = [e for e in agg.store.entries() if "guichet unique" in e.title]
    page.goto(base + "fr/search.html")
    page.locator(".pagefind-ui__search-input").fill("guichet unique")
    result = page.locator(".pagefind-ui__result-link").first
    result.wait_for()
    source = agg.settings.source(known.source_id).name
    assert result.inner_text() == f"{known.title} — {source}"  # with its publisher
    shot(page, "search-fr")
    result.click()
    page.wait_for_url(f"**/fr/month/{known.published:%Y-%m}.html#*")  # in the French tree
    target = page.locator("article:target h2")
    assert target.inner_text() == known.title
    page.goto(base + "es/search.html?q=guichet")  # the Spanish tree searches Spanish stories
    page.locator(".pagefind-ui__message").filter(has_text="guichet").wait_for()
    assert page.locator(".pagefind-ui__result-link").count() == 0
    assert errors == []


def test_pages_work_without_javascript(served: tuple[str, Aggregator], browser: Any) -> None:
    base, _ = served
    errors: list[str] = []
    page = open_page(browser, base, errors, java_script_enabled=False)
    page.goto(base + "fr/search.html")
    page.get_by_role("link", name="Archives").last.click()
    page.wait_for_url("**/fr/archive.html")
    page.get_by_role("link", name="mai 2021").click()
    assert len(titles(page)) > 0


def test_accessibility_audit(served: tuple[str, Aggregator], browser: Any) -> None:
    """axe-core (from the npm registry, tests/js) over one page of every kind, in every
    language: no serious or critical finding."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: npm ci --prefix tests/js (the README's test command)")
    base, _ = served
    errors: list[str] = []
    page = open_page(browser, base, errors, bypass_csp=True)  # axe is injected inline
    names = ["index.html", "fr/index.html", "es/index.html", "en/index.html",
             "category/resilience.html", "fr/category/migration.html", "page/1.html",
             "archive.html", "es/archive.html", "month/2021-05.html", "source/bogota.html",
             "fr/source/sousse.html", "sources.html", "fr/sources.html",
             "members/sousse.html", "es/members/bogota.html", "search.html?q=plan"]
    found = {}
    for name in names:
        page.goto(base + name)
        if "search" in name:
            page.locator(".pagefind-ui__result-link").first.wait_for()
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        bad = [f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes'][0]['target']}"
               for v in result["violations"] if v["impact"] in ("serious", "critical")]
        if bad:
            found[name] = bad
    assert found == {}
    assert errors == []


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
        (site,) = db.execute("SELECT url FROM rss_feed").fetchone()
    assert site == agg.settings.hub.base_url  # the feed's website: the page, not all.json
    stored = {e.entry_id: e for e in agg.store.entries()}
    assert len(rows) == PER_PAGE and len(stored) == 23  # the current document; RFC 5005
    # archives hold the rest, which newsboat does not follow
    for guid, title, url in rows:
        assert title == stored[guid].title and url == (stored[guid].link or "")



def test_no_page_is_wider_than_a_phone(served: tuple[str, Aggregator], browser: Any) -> None:
    """The sources page, every source page and member report, in every tree (issue 27:
    the sources page was 520 px wide at 390, a source page 411)."""
    base, agg = served
    errors: list[str] = []
    page = open_page(browser, base, errors, viewport=PHONE)
    ids = [s.id for s in agg.settings.sources]
    wide = {}
    for tree in ("", "fr/", "es/"):
        for name in ["sources.html", *(f"source/{i}.html" for i in ids),
                     *(f"members/{i}.html" for i in ids)]:
            page.goto(base + tree + name)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                wide[tree + name] = width
    assert wide == {}
