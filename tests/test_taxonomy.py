"""Category words from member feeds, in several languages, mapped to the hub's categories."""

from __future__ import annotations

import pytest
from conftest import ROOT

from aggregator.config import SourceSettings, load_settings
from aggregator.config.taxonomy import Taxonomy, fold, split_words
from aggregator.models import EntryData

SETTINGS = load_settings(ROOT / "config.yaml")
TAXONOMY = Taxonomy(SETTINGS.categories)
PLAIN = SourceSettings(id="s", name="S", kind="member", url="https://x.org/f")


def classify(words: tuple[str, ...], title: str = "News", source: SourceSettings = PLAIN
             ) -> tuple[str, ...]:
    return TAXONOMY.classify(EntryData(guid="1", link=None, title=title,
                                       raw_categories=words), source)


@pytest.mark.parametrize(("words", "expected"), [
    (("Résilience, Resiliencia",), ("resilience",)),
    (("RESILIENCIA",), ("resilience",)),
    (("mobility",), ("mobility",)),
    (("Mobilité",), ("mobility",)),
    (("Migration / Mobilité",), ("migration", "mobility")),
    (("Resiliencia; Medio ambiente",), ("resilience",)),
    (("  Disaster   Risk-Reduction ",), ("resilience",)),
    (("Recuperación COVID-19",), ("covid-recovery",)),
    (("COVID-19", "Culture"), ("culture", "covid-recovery")),
    (("Sports",), ("uncategorized",)),
    ((), ("uncategorized",)),
])
def test_words(words: tuple[str, ...], expected: tuple[str, ...]) -> None:
    assert classify(words) == expected


def test_keyword_rules_on_title() -> None:
    assert classify((), title="Flooding closes the river road") == ("resilience",)
    assert classify((), title="Floodlights at the stadium") == ("uncategorized",)


def test_source_defaults_and_overrides() -> None:
    source = SourceSettings(id="s", name="S", kind="member", url="https://x.org/f",
                            categories=("culture",),
                            category_map={"Migrations et mobilité": "migration"})
    assert classify((), source=source) == ("culture",)
    assert classify(("Migrations et mobilité",), source=source) == ("migration",)
    assert classify(("Sports",), source=source) == ("culture",)


def test_fold_and_split() -> None:
    assert fold("Résilience") == fold("RESILIENCE") == "resilience"
    assert fold("Migración") == "migracion"
    assert split_words("a, b / c") == ["a, b / c", "a", "b", "c"]
    assert split_words("single") == ["single"]


def test_unmapped_words_are_reported() -> None:
    assert TAXONOMY.unmapped(["Sports", "Culture", "Medio ambiente"], PLAIN) == [
        "Sports", "Medio ambiente"]


def test_labels_per_language() -> None:
    assert TAXONOMY.label("resilience", "es") == "Resiliencia"
    assert TAXONOMY.label("resilience", "de") == "Resilience"


# Category words seen in real feeds (tests/data/real): lanacion (es-AR), rue89 (fr), Jornal
# de Noticias (pt), VOA Urdu, Radio Katowice, allAfrica, Orenburg news (ru), mapped through a
# hub taxonomy with labels and synonyms in several languages.
REAL_CATEGORIES = [
    {"id": "politics", "labels": {"en": "Politics", "fr": "Politique", "es": "Política",
                                  "pt": "Política"},
     "synonyms": ["governance", "assemblée nationale", "government"]},
    {"id": "economy", "labels": {"en": "Economy", "fr": "Économie", "es": "Economía",
                                 "pt": "Economia"},
     "synonyms": ["business", "finance", "agricultura"]},
    {"id": "justice", "labels": {"en": "Justice", "fr": "Justice", "es": "Justicia",
                                 "pt": "Justiça"}, "synonyms": ["police", "полиция"]},
    {"id": "society", "labels": {"en": "Society", "fr": "Société", "es": "Sociedad"}},
    {"id": "sport", "labels": {"en": "Sport", "fr": "Sport", "es": "Deporte",
                               "pt": "Desporto"}, "synonyms": ["fútbol", "foot", "tenis"]},
    {"id": "news", "labels": {"en": "News", "ur": "خبریں", "ru": "Новости"},
     "synonyms": ["раздел новости"]},
]


@pytest.mark.parametrize(("word", "expected"), [
    ("Política", ("politics",)),  # lanacion, with its accent
    ("POLITIQUE", ("politics",)),  # rue89, case-folded
    ("assemblée nationale", ("politics",)),
    ("Governance", ("politics",)),  # allAfrica
    ("Economy, Business and Finance", ("economy",)),  # allAfrica multi-value string
    ("Economia", ("economy",)),  # Jornal de Noticias
    ("Agricultura", ("economy",)),
    ("Justiça", ("justice",)),
    ("Police", ("justice",)),
    ("Sociedad", ("society",)),
    ("Fútbol", ("sport",)),
    ("foot", ("sport",)),
    ("Desporto", ("sport",)),
    ("خبریں", ("news",)),  # VOA Urdu: right-to-left script
    ("Раздел Новости/", ("news",)),  # Orenburg: case and the trailing slash folded away
    ("kresy", ("other",)),  # Radio Katowice: nothing maps
])
def test_real_category_words(word: str, expected: tuple[str, ...]) -> None:
    from aggregator.config import CategorySettings
    categories = [CategorySettings(id=c["id"], labels=c["labels"],  # type: ignore[arg-type]
                                   synonyms=tuple(c.get("synonyms", ())))
                  for c in REAL_CATEGORIES]
    categories.append(CategorySettings(id="other", fallback=True))
    taxonomy = Taxonomy(categories)
    got = taxonomy.classify(EntryData(guid="1", link=None, title="x", raw_categories=(word,)),
                            PLAIN)
    assert got == expected
