"""The hub's title and description by language (issue 28): `hub.title` as a string or a
mapping, used by the site trees and the per-language feeds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import EXAMPLES, write_config
from lxml import etree

from aggregator import Aggregator
from aggregator.config import load_settings
from aggregator.errors import ConfigError

ATOM = "{http://www.w3.org/2005/Atom}"
HUB = {"title": {"en": "Cities News", "fr": "Actualités des villes",
                 "es": "Noticias de ciudades"},
       "description": {"fr": "Les nouvelles des villes membres"},
       "base_url": "http://127.0.0.1:8080/", "id": "tag:hub.test,2026:", "language": "en",
       "languages": ["en", "fr", "es"], "contact": "mailto:test@example.org"}


def test_titles_and_descriptions_follow_the_tree_and_feed_language(tmp_path: Path) -> None:
    (tmp_path / "city.xml").write_bytes((EXAMPLES / "durban-member-rss1.xml").read_bytes())
    config = write_config(tmp_path, [{"id": "city", "kind": "member", "path": "city.xml"}],
                          hub=HUB)
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.update()
        agg.publish()
    out = tmp_path / "feeds"

    def title(name: str) -> str:
        return str(etree.parse(str(out / name)).findtext(f"{ATOM}title"))
    assert title("all.atom") == "Cities News"
    assert title("fr/all.atom") == "Actualités des villes (fr)"
    assert title("es/all.atom") == "Noticias de ciudades (es)"
    assert title("fr/resilience.atom").startswith("Actualités des villes: ")
    fr = json.loads((out / "fr" / "all.json").read_text())
    assert fr["description"] == "Les nouvelles des villes membres"
    assert fr["authors"][0]["name"] == "Actualités des villes"
    es = json.loads((out / "es" / "all.json").read_text())
    assert es["description"] == "News from the members and partners of Noticias de ciudades"
    assert "<title>Actualités des villes" in (out / "fr" / "index.html").read_text() or \
        "Actualités des villes</" in (out / "fr" / "index.html").read_text()
    assert "Cities News" in (out / "index.html").read_text()
    assert "Actualités des villes" not in (out / "index.html").read_text()


def test_a_bad_title_mapping_names_the_key(tmp_path: Path) -> None:
    config = write_config(tmp_path, [], hub=HUB | {"title": {"english": 3}})
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    assert any("hub.title: must be a string, or a mapping of language tags" in e
               for e in info.value.errors)
