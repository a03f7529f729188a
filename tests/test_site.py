"""The static site as a visitor reads it: a complete tree per language, stable archive
pages, month pages, source pages, named copies, pictures and a search index. (The real
browser, the accessibility audit and the screenshots are in test_browser.py.)"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import EXAMPLES, SHIPPED_SOURCES, write_config
from support.sitecheck import broken_links, pages, parse_errors, reachable

from aggregator import Aggregator
from aggregator.config import load_settings
from aggregator.models import Dirty, FeedMeta, Image, StoredEntry
from aggregator.publish.feeds import SEARCH_EVERY, SEARCH_SMALL, publish_search
from aggregator.render.site.i18n import DATA_WORDS, Words, catalog_languages, translations
from aggregator.render.site.layout import anchor
from aggregator.store import open_store

NOW = datetime(2026, 6, 1, tzinfo=UTC)
PER_PAGE = 4  # small pages, so 23 stories make archive pages
TREES = ("", "en/", "fr/", "es/")


def make(root: Path) -> Aggregator:
    import shutil
    shutil.copytree(EXAMPLES, root / "examples", dirs_exist_ok=True)
    config = write_config(root, SHIPPED_SOURCES,
                          output={"dir": "feeds", "entries_per_feed": PER_PAGE})
    return Aggregator(load_settings(config), store=open_store(None), parse_processes=0,
                      clock=lambda: NOW)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Aggregator]]:
    with make(tmp_path_factory.mktemp("site")) as agg:
        agg.update()
        agg.publish()
        yield agg.settings.output.dir, agg


def read(out: Path, name: str) -> str:
    return (out / name).read_text(encoding="utf-8")


def test_every_language_has_a_whole_tree(site: tuple[Path, Aggregator]) -> None:
    out, agg = site
    categories = [c.id for c in agg.settings.categories] + ["uncategorized"]
    sources = [s.id for s in agg.settings.sources]
    for tree in TREES:
        names = ["index.html", "archive.html", "sources.html", "search.html"]
        names += [f"category/{c}.html" for c in categories]
        names += [f"source/{s}.html" for s in sources] + [f"members/{s}.html" for s in sources]
        missing = [tree + n for n in names if not (out / tree / n).is_file()]
        assert missing == []
        lang = tree[:-1] or "en"
        assert f'<html lang="{lang}"' in read(out, tree + "index.html")


def test_french_pages_speak_french(site: tuple[Path, Aggregator]) -> None:
    out, agg = site
    home = read(out, "fr/index.html")
    assert "<title>Actualités en français · Test hub</title>" in home
    assert "(fr)" not in home
    assert '<a href="category/resilience.html">Résilience</a>' in home
    assert 'href="../category/' not in home  # category links stay in the French tree
    assert '<a href="../fr/all.atom" type="application/atom+xml">Atom</a>' in home
    sousse = [e for e in agg.store.entries(source_id="sousse")
              if e.published.date().isoformat() == "2021-05-27"]
    assert sousse and "27 mai 2021" in home
    assert ">français<" in home and "fr-CA" not in re.sub(r'lang="[^"]+"', "", home)
    spanish = read(out, "es/sources.html")
    assert "Fuentes" in spanish and "Último éxito" in spanish
    assert re.search(r"<td>\d{1,2} de \w+ de 20\d\d</td>", spanish)  # its day, not ISO
    assert re.search(r"\d{1,2} de \w+ de 20\d\d", read(out, "es/index.html"))


def test_language_switch_and_hreflang_keep_the_page(site: tuple[Path, Aggregator]) -> None:
    out, _ = site
    page = read(out, "fr/category/migration.html")
    for code, target in (("x-default", "category/migration.html"),
                         ("en", "en/category/migration.html"),
                         ("fr", "fr/category/migration.html"),
                         ("es", "es/category/migration.html")):
        assert (f'<link rel="alternate" hreflang="{code}" '
                f'href="http://127.0.0.1:8080/{target}">') in page
        assert f'href="../../{target}"' in page
    assert 'aria-current="page">Français</a>' in page
    month = read(out, "fr/month/2021-06.html")
    assert 'href="../../es/month/2021-06.html"' in month  # a month keeps its month
    assert 'href="../../es/archive.html"' in read(out, "fr/month/2021-05.html")  # none in es


def test_no_broken_internal_link_and_valid_html(site: tuple[Path, Aggregator]) -> None:
    out, _ = site
    assert broken_links(out) == []
    errors = {name: parse_errors(text.encode()) for name, text in pages(out).items()}
    assert {name: e for name, e in errors.items() if e} == {}
    assert len(errors) > 150  # every page of the site was checked (its months are the
    # tree's: categories and sources have none of their own)


def test_every_stored_entry_is_reachable_from_the_home_page(
        site: tuple[Path, Aggregator]) -> None:
    out, agg = site
    for tree in TREES:
        seen = reachable(out, tree + "index.html")
        shown = set()
        for name in seen:
            shown |= set(re.findall(r'<article id="(e-[0-9a-f]+)"', read(out, name)))
        wanted = {anchor(e) for e in agg.store.entries()
                  if not tree or (e.language or "en").split("-")[0] == tree[:-1]}
        assert wanted and wanted <= shown, tree


def test_archive_pages_chain_back_in_time(site: tuple[Path, Aggregator]) -> None:
    out, agg = site
    total = len(agg.store.entries())
    numbered = sorted(out.glob("page/*.html"), key=lambda p: int(p.stem))
    assert len(numbered) == (total - 1) // PER_PAGE  # the head holds the newest PER_PAGE
    head = read(out, "index.html")
    assert f'<link rel="next" href="page/{len(numbered)}.html">' in head
    first = read(out, "page/1.html")
    assert '<link rel="prev" href="../page/2.html">' in first and 'rel="next"' not in first
    counted = sum(read(out, f"page/{p.stem}.html").count("<article ") for p in numbered)
    assert counted + head.count("<article ") == total
    archive = read(out, "archive.html")
    assert re.search(r'href="month/2021-05.html">May 2021</a> \(\d+ entries\)', archive)
    assert re.search(r'href="month/2021-05.html">mai 2021</a> \(\d+ articles?\)',
                     read(out, "fr/archive.html"))


def test_sealed_pages_never_change(tmp_path: Path) -> None:
    with make(tmp_path) as agg:
        agg.update()
        agg.publish()
        out = agg.settings.output.dir
        before = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("page/*.html")}
        late = NOW + timedelta(days=1)
        fresh = [StoredEntry(
            key=f"sousse:new{i}", source_id="sousse", entry_id=f"tag:t,2026:new{i}",
            title=f"Nouvelle {i}", link=f"https://sousse.example/new{i}", canonical_link=None,
            published=late, updated=late, first_seen=late, content_hash=f"n{i}",
            categories=("culture",), own_categories=("culture",), language="fr",
            story=f"sousse:new{i}", origin=FeedMeta(title="Sousse")) for i in range(9)]
        agg.store.apply(fresh, [])
        agg.publish()
        after = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("page/*.html")}
    sealed = {name for name in before if name.replace("page/", "").split(".")[0].isdigit()}
    changed = {name for name in before if after[name] != before[name]}
    assert len(after) > len(before)
    # Only the newest archive page of each river was open; the full ones kept their bytes.
    for name in changed:
        folder, number = name.rsplit("page/", 1)
        newest = max(int(p.rsplit("page/", 1)[1][:-5]) for p in before
                     if p.startswith(folder + "page/"))
        assert int(number[:-5]) == newest or "sources" in name, name
    assert sealed


def test_a_merged_story_names_and_links_its_copies(site: tuple[Path, Aggregator]) -> None:
    out, agg = site
    merged = [e for e in agg.store.entries() if e.via]
    assert merged
    names = {s.id: s.name for s in agg.settings.sources}
    for e in merged:
        month = read(out, f"month/{e.published:%Y-%m}.html")
        article = month.split(f'id="{anchor(e)}"', 1)[1].split("</article>", 1)[0]
        copies = agg.store.copies_of(e.key)
        assert copies
        for copy in copies:
            assert f'>{names[copy.source_id]}</a>' in article.split("Also published by", 1)[1]
            assert f'href="{html.escape(copy.link or "")}"' in article
        french = read(out, f"fr/month/{e.published:%Y-%m}.html") if (
            e.language or "").startswith("fr") else read(out, "fr/index.html")
        assert "also published by 1" not in french.lower()


def test_source_page_has_its_river_health_site_and_feed(site: tuple[Path, Aggregator]) -> None:
    out, agg = site
    page = read(out, "fr/source/montreal.html")
    state = agg.store.source_state("montreal")
    assert state is not None and state.feed is not None
    assert "<h1>Ville de Montréal</h1>" in page
    assert "<dt>État</dt><dd>actif</dd>" in page
    assert f'<a href="{state.feed.link}">' in page
    assert 'href="../members/montreal.html"' in page
    assert page.count("<article ") == min(PER_PAGE, len(agg.store.entries(source_id="montreal")))


def test_pictures_beside_entries(tmp_path: Path) -> None:
    with make(tmp_path) as agg:
        agg.update()
        [first, *_] = agg.store.entries(source_id="sousse")
        agg.store.apply([replace(first, image=Image("https://img.sousse.example/a.jpg", 800, 600),
                                 content_hash="pictured")], [])
        agg.publish()
        page = read(agg.settings.output.dir, "source/sousse.html")
    img = re.search(r'<img class="pic"[^>]*>', page)
    assert img is not None
    tag = img.group(0)
    assert 'src="https://img.sousse.example/a.jpg"' in tag
    assert 'width="160" height="120"' in tag and 'loading="lazy"' in tag
    assert f'alt="{first.title}"' in tag.replace("&#39;", "'")


def test_catalogs_translate_every_message() -> None:
    from babel.messages.extract import extract_from_dir
    root = Path(__file__).resolve().parent.parent / "aggregator"
    found = {msg for _, _, msg, _, _ in extract_from_dir(
        str(root), method_map=[("render/site/templates/**.html", "jinja2.ext:babel_extract"),
                               ("render/site/**.py", "python"), ("publish/site.py", "python"),
                               ("publish/search.py", "python")],
        options_map={"render/site/templates/**.html": {"extensions": "jinja2.ext.i18n"}})}
    found |= set(DATA_WORDS)
    assert catalog_languages() == ("es", "fr")
    for lang in catalog_languages():
        t = translations(lang)
        for msg in found:
            if isinstance(msg, tuple):
                got = [t.ngettext(msg[0], msg[1], n) for n in (1, 2)]
                assert all(g not in msg for g in got), (lang, msg)
                continue
            got = t.gettext(msg)
            same = ("Sources", "Source", "Pages", "Site", "Page %(number)s", "error")
            assert got and (got != msg or msg in same), (lang, msg)
            assert re.findall(r"%\(\w+\)s", got) == re.findall(r"%\(\w+\)s", msg), (lang, msg)


def test_babel_formats_dates_plurals_and_names() -> None:
    day = datetime(2021, 5, 27, tzinfo=UTC)
    assert Words("fr").date(day) == "27 mai 2021"
    assert Words("es").date(day) == "27 de mayo de 2021"
    assert Words("en").date(day) == "May 27, 2021"
    assert Words("fr").language_name("es-co") == "espagnol (Colombie)"
    assert Words("es").own_name("fr") == "Français"
    assert Words("ar").direction == "rtl"
    fr = translations("fr")
    assert fr.ngettext("%(num)s entry", "%(num)s entries", 0) == "%(num)s article"  # 0 is one
    assert translations("en").ngettext("%(num)s entry", "%(num)s entries", 0).endswith("entries")


def test_search_index_follows_every_publish_that_changed_stories(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with make(tmp_path) as agg:
        agg.publish()  # a first start, before any poll: no index, and no warning either
        assert not (agg.settings.output.dir / "pagefind").exists()
        assert "search index skipped" not in caplog.text
        bundle = agg.settings.output.dir / "pagefind"
        (bundle / "fragment").mkdir(parents=True)  # the one bundle of earlier versions
        (bundle / "fragment" / "en_old.pf_fragment").write_bytes(b"old")
        (bundle / "pagefind.js").write_bytes(b"old")
        agg.update()
        agg.publish()
        assert not (bundle / "fragment").exists() and not (bundle / "pagefind.js").exists()
        shards = json.loads((bundle / "shards.json").read_bytes())["shards"]
        assert len(shards) > 1  # one per month, newest first
        assert shards == sorted(shards, reverse=True)
        counts = [json.loads((bundle / s / "pagefind-entry.json").read_bytes())
                  ["languages"]["en"]["page_count"] for s in shards]
        assert sum(counts) == len(agg.store.entries())
        assert (bundle / "pagefind-ui.js").is_file()  # the interface, once, beside the shards
        fragments = {s: sorted(p.name for p in (bundle / s / "fragment").iterdir())
                     for s in shards}
        rebuilt = agg.publish(full=True)  # the same stories: the index is not rebuilt
        assert not any(str(p).startswith("pagefind/") for p in rebuilt)
        [first, *_] = agg.store.entries(source_id="sousse")
        agg.store.apply([replace(first, title="Un titre tout neuf", content_hash="new")], [])
        changed = agg.publish()
        touched = {p.parts[1] for p in changed if str(p).startswith("pagefind/")}
        month = f"{first.published:%Y-%m}"
        assert {s for s in touched if s in shards} == {s for s in shards if
                                                      s.startswith(month)}  # its month only
        now = {s: sorted(p.name for p in (bundle / s / "fragment").iterdir()) for s in shards}
        [redone] = [s for s in shards if now[s] != fragments[s]]
        assert len(now[redone]) == len(fragments[redone])  # the stale fragment is gone


def test_a_big_index_is_rebuilt_at_most_every_few_minutes(tmp_path: Path) -> None:
    with make(tmp_path) as agg:
        agg.update()
        agg.publish()
        marker = agg.settings.output.dir / "pagefind" / "records.sha256"
        digest, at, _ = marker.read_text().split()
        marker.write_text(f"{digest} {at} {SEARCH_SMALL}")  # as if it held a big network
        [first, *_] = agg.store.entries(source_id="sousse")
        agg.store.apply([replace(first, title="Un titre tout neuf", content_hash="new")], [])
        soon = agg.publish()  # younger than SEARCH_EVERY: kept for now, marked pending
        assert not any(str(p).startswith("pagefind/") for p in soon)
        assert marker.read_text().endswith(" pending")
        later = float(at) + SEARCH_EVERY + 1
        quiet = publish_search(agg.settings, agg.store, agg.sink, Dirty(), now=later)
        assert any(str(p).startswith("pagefind/") for p in quiet)  # caught up when old enough
        assert publish_search(agg.settings, agg.store, agg.sink, Dirty(), now=later + 1) == []


def test_a_build_indexes_a_pending_shard_before_its_pages_else_beside(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A whole build renders its pages beside the search index; when the index was left
    pending and a few shards are indexed again, those go first (publish_search's
    ``first``), so Pagefind does not run beside pages that hold the memory."""
    import threading

    from aggregator.publish import feeds, search

    order: list[str] = []
    real_index, real_site = search.build_index, feeds.render_site
    pages_began, hold = threading.Event(), [False]

    def build_index(*args: object, **kw: object) -> bool:
        if hold[0]:  # let the pages begin first if they go beside (else: fails below)
            pages_began.wait(10)
        order.append("index")
        return real_index(*args, **kw)  # type: ignore[arg-type]

    def render_site(*args: object, **kw: object) -> object:
        order.append("pages")
        pages_began.set()
        return real_site(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(feeds, "build_index", build_index)
    monkeypatch.setattr(feeds, "render_site", render_site)
    with make(tmp_path) as agg:
        agg.update()
        agg.publish()
        marker = agg.settings.output.dir / "pagefind" / "records.sha256"
        digest, at, size = marker.read_text().split()
        [story, *_] = agg.store.entries(source_id="sousse")
        agg.store.apply([replace(story, title="Un titre tout neuf", content_hash="new")], [])
        marker.write_text(f"{digest} {at} {size} pending")  # a poll left it behind
        order.clear()
        agg.publish(full=True)
        assert order == ["index", "pages"]  # one shard changed: indexed first
        assert not marker.read_text().endswith("pending")
        agg.store.apply([replace(story, title="Un autre titre", content_hash="newer")], [])
        order.clear()
        pages_began.clear()
        hold[0] = True
        agg.publish(full=True)  # not pending: the pages go on at once, beside the index
        assert order == ["pages", "index"]


def test_the_sources_table_escapes_what_sources_say(tmp_path: Path) -> None:
    """The table's rows are made in Python (site.SiteBuild.source_rows): a source's name and
    its server's error text are escaped there as Jinja would."""
    from aggregator.config import Settings
    from aggregator.config.taxonomy import Taxonomy
    from aggregator.models import SourceHealth
    from aggregator.publish.plan import RenderPlan
    from aggregator.publish.site import SiteBuild
    config = write_config(tmp_path, [{"id": "evil", "name": 'City <img src=x onerror="a()">',
                                      "kind": "member", "url": "http://127.0.0.1:9/x.xml"}])
    settings: Settings = load_settings(config)
    health = [SourceHealth("evil", 'City <img src=x onerror="a()">', "member",
                           "http://127.0.0.1:9/x.xml", "backing off", None, None, 500, 1,
                           "HTTP 500 <script>alert('x')</script> & more", None, 3)]
    store = open_store(tmp_path / "s.json")
    try:
        build = SiteBuild(settings, store, Taxonomy(settings.categories), health,
                          RenderPlan(Dirty(), settings.hub.language))
        build.status_pages()
    finally:
        store.close()
    page = build.out["fr/sources.html"].decode()
    row = page[page.index("<tbody>"):page.index("</tbody>")]
    assert "<script" not in row and "<img" not in row
    assert "HTTP 500 &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more" in row
    assert 'City &lt;img src=x onerror=&#34;a()&#34;&gt;' in row
    assert '<a href="source/evil.html">' in row and '<a href="members/evil.html">' in row
    assert "<td>en attente après des erreurs</td>" in row  # worded in French
    assert row.count("<td>") == 6 and "<td>3</td>" in row
    assert parse_errors(page) == []
