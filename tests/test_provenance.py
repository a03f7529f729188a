"""Provenance (issue 27): a copy merged under the same link is named beside its story, on
every page and in every tree, like copies merged any other way."""

from __future__ import annotations

from pathlib import Path

from conftest import write_config

from aggregator import Aggregator
from aggregator.config import load_settings

TRAM = ("Tram line opens downtown", "https://city.example/tram",
        "Mon, 02 Nov 2026 09:00:00 GMT")


def rss(title: str, *items: tuple[str, str, str]) -> str:
    body = "".join(f"<item><title>{t}</title><link>{link}</link><guid>{title}-{t}</guid>"
                   f"<pubDate>{d}</pubDate><description>{t}: the story.</description>"
                   "</item>" for t, link, d in items)
    return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>{title}</title>"
            f"<link>https://{title.lower()}.example/</link>{body}</channel></rss>")


def test_a_same_link_copy_is_named_on_every_page(tmp_path: Path) -> None:
    (tmp_path / "city.xml").write_text(rss("City", TRAM))
    (tmp_path / "agency.xml").write_text(rss("Agency", TRAM))  # the same link, later in
    config = write_config(tmp_path, [
        {"id": "city", "name": "City of Tramways", "kind": "member", "path": "city.xml"},
        {"id": "agency", "name": "Transit Agency", "kind": "partner", "path": "agency.xml"}])
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.update()
        agg.publish()
        (primary,) = agg.entries()
        (copy,) = [e for e in agg.entries(include_duplicates=True) if e.duplicate_of]
    assert primary.source_id == "city" and copy.source_id == "agency" and primary.via == ()
    out = tmp_path / "feeds"
    pages = [p for p in out.rglob("*.html") if "Tram line opens downtown" in p.read_text()
             and "members" not in p.parts]
    trees = {p.relative_to(out).parts[0] for p in pages}
    assert {"en", "index.html", "source", "category"} <= trees  # every tree that shows it
    for page in pages:
        html = page.read_text()
        assert "Transit Agency</a>" in html, page  # "Also published by", in each language
