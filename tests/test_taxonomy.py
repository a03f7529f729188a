"""Category words from member feeds, in several languages, mapped to the hub's categories."""

from __future__ import annotations

import pytest
from conftest import ROOT

from aggregator.config import SourceSettings, load_settings
from aggregator.models import EntryData
from aggregator.taxonomy import Taxonomy, fold, split_words

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
