"""What a reader sees on the site (issue 27): one picture shown once."""

from __future__ import annotations

from pathlib import Path

from conftest import write_config

from aggregator import Aggregator
from aggregator.config import load_settings

PICTURE = "https://city.example/img/tram.jpg?w=800&amp;h=450"


def test_a_picture_from_the_content_is_shown_once(tmp_path: Path) -> None:
    (tmp_path / "city.xml").write_text(
        "<?xml version='1.0'?><rss version='2.0'><channel><title>City</title>"
        "<link>https://city.example/</link><item><title>Tram opens</title>"
        "<link>https://city.example/tram</link><pubDate>Mon, 02 Nov 2026 09:00:00 GMT"
        f"</pubDate><description><![CDATA[<p><img src=\"{PICTURE}\" width=\"800\" "
        "height=\"450\"> The tram opens.</p>]]></description></item>"
        "<item><title>Budget</title><link>https://city.example/budget</link>"
        "<pubDate>Mon, 02 Nov 2026 08:00:00 GMT</pubDate><description>Plain text."
        "</description><enclosure url=\"https://city.example/img/budget.jpg\" "
        "type=\"image/jpeg\" length=\"1\"/></item></channel></rss>")
    config = write_config(tmp_path, [{"id": "city", "kind": "member", "path": "city.xml"}])
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.update()
        agg.publish()
        tram = next(e for e in agg.entries() if e.title == "Tram opens")
    assert tram.image is not None  # the content's first picture is the entry's picture
    html = (tmp_path / "feeds" / "index.html").read_text()
    assert html.count("img/tram.jpg") == 1  # in the text, not again as a thumbnail
    assert html.count("img/budget.jpg") == 1  # a picture the text lacks: the thumbnail


def test_source_pages_count_what_they_list_in_every_tree(tmp_path: Path) -> None:
    import re
    import shutil

    from conftest import EXAMPLES, SHIPPED_SOURCES
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    config = write_config(tmp_path, SHIPPED_SOURCES)
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.update()
        agg.publish()
    out = tmp_path / "feeds"
    pages = [p for p in out.glob("**/source/*.html")]
    assert len(pages) == 4 * len(SHIPPED_SOURCES)
    for page in pages:
        html = page.read_text()
        said = re.search(r'<dd class="count">(\d+)\D', html)
        assert said is not None, page
        assert int(said[1]) == html.count("<article "), page  # "0 entries" over an empty list
    member = (out / "members" / "sousse.html").read_text()
    assert 'href="path:' not in member and "<code>path:" in member  # no link that cannot open


def test_a_category_taken_out_leaves_every_output(tmp_path: Path) -> None:
    import shutil

    import yaml
    from conftest import EXAMPLES, SHIPPED_SOURCES
    from test_cli import cli
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    config = write_config(tmp_path, SHIPPED_SOURCES)
    assert cli("poll", "--config", str(config)).returncode == 0
    out = tmp_path / "feeds"
    culture = [out / "culture.atom", out / "fr" / "culture.json", out / "category" /
               "culture.html", out / "es" / "category" / "culture.html"]
    assert all(p.exists() for p in culture)
    doc = yaml.safe_load(config.read_text())
    doc["categories"] = [c for c in doc["categories"] if c["id"] != "culture"]
    for source in doc["sources"]:
        source["categories"] = [c for c in source.get("categories", []) if c != "culture"]
        for word in [w for w, c in source.get("category_map", {}).items() if c == "culture"]:
            del source["category_map"][word]
    config.write_text(yaml.safe_dump(doc, allow_unicode=True))
    assert cli("poll", "--config", str(config)).returncode == 0
    assert [p for p in culture if p.exists()] == []
    assert not (out / "category" / "culture").exists()
    linking = [str(p.relative_to(out)) for p in out.rglob("*.html")
               if 'category/culture.html"' in p.read_text()]
    assert linking == []
    assert 'term="culture"' not in (out / "all.atom").read_text()
