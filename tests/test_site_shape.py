"""The site's shape at scale (DESIGN.md, "The site's shape"): in each tree an entry's
article is written once, on its month page; rivers show cards pointing to it and go back
``site.river_depth`` entries, then to the month archive."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from conftest import shipped_categories, write_config
from support.sitecheck import broken_links, reachable

from aggregator import Aggregator
from aggregator.config import load_settings
from aggregator.models import FeedMeta, StoredEntry
from aggregator.render.site.layout import anchor

T0 = datetime(2021, 1, 1, 12, 0, tzinfo=UTC)
LONG = " ".join(f"word{n}" for n in range(120))  # ~1,000 characters


def entry(n: int, source: str = "s0") -> StoredEntry:
    when = T0 + timedelta(days=3 * n)  # ten entries a month
    key = f"{source}:{n}"
    category = shipped_categories()[n % 2]["id"]
    return StoredEntry(key=key, source_id=source, entry_id=key, title=f"Story {n}",
                       link=f"https://s.example/{n}", canonical_link=None, published=when,
                       updated=when, first_seen=when, content_hash=key,
                       summary=f"<p>Story {n}: <b>{LONG}</b></p>", categories=(category,),
                       own_categories=(category,), language="en", story=key,
                       origin=FeedMeta(title="S"))


def hub(tmp_path: Path, depth: int) -> Path:
    path = write_config(tmp_path, [{"id": "s0", "name": "Source", "kind": "member",
                                    "url": "http://127.0.0.1:9/s.xml"}])
    config = yaml.safe_load(path.read_text())
    config["output"]["entries_per_feed"] = 5
    config["site"] = {"river_depth": depth}
    path.write_text(yaml.safe_dump(config))
    return path


def publish(config: Path, entries: list[StoredEntry]) -> Path:
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.store.apply(entries, [])
        agg.publish()
    return load_settings(config).output.dir


def test_rivers_go_back_their_depth_and_pages_past_it_are_removed(tmp_path: Path) -> None:
    config = hub(tmp_path, depth=10)
    out = publish(config, [entry(n) for n in range(40)])
    # 40 by arrival: the newest 5 on the head, 7 pages of 5 behind; 10 deep: pages 6, 7
    assert sorted(p.name for p in (out / "page").iterdir()) == ["6.html", "7.html"]
    assert not (out / "source" / "s0" / "page" / "5.html").exists()
    oldest = (out / "page" / "6.html").read_text()
    assert 'rel="next"' not in oldest and 'href="../archive.html"' in oldest
    out = publish(config, [entry(n) for n in range(40, 50)])  # two pages more
    assert sorted(p.name for p in (out / "page").iterdir()) == ["8.html", "9.html"]
    assert 'rel="next"' not in (out / "page" / "8.html").read_text()
    assert broken_links(out) == []
    seen = reachable(out, "index.html")  # every entry, from the home page: month pages
    articles = {a for name in seen for a in re.findall(
        r'<article id="(e-[0-9a-f]+)"', (out / name).read_text())}
    assert articles == {anchor(entry(n)) for n in range(50)}


def test_an_article_is_written_once_per_tree_and_cards_point_to_it(tmp_path: Path) -> None:
    out = publish(hub(tmp_path, depth=500), [entry(n) for n in range(12)])
    story = anchor(entry(11))
    for tree in ("", "en/"):
        in_tree = [p for p in (out / tree).rglob("*.html")  # the root tree: not en/, fr/...
                   if not p.relative_to(out / tree).as_posix().startswith(("en/", "fr/", "es/"))]
        holding = [p.relative_to(out).as_posix() for p in in_tree
                   if f'<article id="{story}"' in p.read_text()]
        assert holding == [f"{tree}month/2021-02.html"], tree
        home = (out / tree / "index.html").read_text()
        card = home[home.index(f'id="{story}"'):]
        card = card[:card.index("</article>")]
        assert f'href="month/2021-02.html#{story}"' in card  # to its article
        text = re.search(r'<p class="summary">([^<]*)</p>', card)
        assert text is not None and len(text.group(1)) <= 280 and text.group(1).endswith("…")
        assert "<b>" not in card and "word119" not in card  # plain, and cut
    month = (out / "month" / "2021-02.html").read_text()
    assert "<b>" in month and "word119" in month  # the article: the whole text


def test_a_whole_build_takes_the_month_pages_of_rivers_away(tmp_path: Path) -> None:
    """Month pages of categories and sources (earlier versions wrote them) are gone after
    the whole build a new version makes; the tree's month pages stay."""
    config = hub(tmp_path, depth=500)
    out = load_settings(config).output.dir
    old = out / "category" / "culture" / "month" / "2021-01.html"
    old.parent.mkdir(parents=True)
    old.write_text("<p>an older version's page</p>")
    publish(config, [entry(n) for n in range(4)])
    assert not old.parent.exists() and (out / "month" / "2021-01.html").exists()
