"""Filing entries under the hub's own categories, and choosing their language.

Raw category words from member feeds ("Résilience, Resiliencia", "mobility", "Migration /
Mobilité") are folded (case, accents, punctuation, spaces), split on , ; / |, and looked up in
the labels and synonyms of the configured categories.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from .config import CategorySettings, SourceSettings
from .models import EntryData
from .sanitize import plain_text

UNCATEGORIZED = "uncategorized"
_SPLIT = re.compile(r"[,;/|]")
_PUNCT = re.compile(r"[^\w\s]|_", re.UNICODE)
_SPACES = re.compile(r"\s+")


def fold(word: str) -> str:
    """Compare-form of a category word: case-folded, accents stripped, punctuation to spaces."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", _PUNCT.sub(" ", stripped)).strip()


def split_words(raw: str) -> list[str]:
    """The whole string first, then its parts, so 'Migrations et mobilité' can map as one."""
    parts = [p.strip() for p in _SPLIT.split(raw) if p.strip()]
    return [raw, *parts] if len(parts) > 1 else [raw]


class Taxonomy:
    """The configured categories, indexed for lookup."""

    def __init__(self, categories: Iterable[CategorySettings]) -> None:
        self.categories = tuple(categories)
        self.order = {c.id: i for i, c in enumerate(self.categories)}
        self.order[UNCATEGORIZED] = len(self.order)
        self._words: dict[str, str] = {}
        for c in self.categories:
            for word in (c.id, *c.labels.values(), *c.synonyms):
                self._words.setdefault(fold(word), c.id)
        self._rules = [(c.id, re.compile(p, re.IGNORECASE)) for c in self.categories
                       for p in c.keywords]

    @property
    def ids(self) -> tuple[str, ...]:
        return (*(c.id for c in self.categories), UNCATEGORIZED)

    def label(self, category_id: str, language: str) -> str:
        for c in self.categories:
            if c.id == category_id:
                return c.label(language)
        return "Uncategorized" if category_id == UNCATEGORIZED else category_id

    def classify(self, entry: EntryData, source: SourceSettings) -> tuple[str, ...]:
        """Mapped words and keyword rules, else the source defaults, else uncategorized."""
        found = set(self.map_words(entry.raw_categories, source))
        text = f"{entry.title} {plain_text(entry.summary or entry.content or '', True)}"
        found.update(cid for cid, rule in self._rules if rule.search(text))
        if not found:
            found.update(source.categories)
        return tuple(sorted(found, key=self.order.__getitem__)) if found else (UNCATEGORIZED,)

    def map_words(self, raw_categories: Iterable[str], source: SourceSettings) -> list[str]:
        overrides = {fold(k): v for k, v in source.category_map.items()}
        found: list[str] = []
        for raw in raw_categories:
            for word in split_words(raw):
                cid = overrides.get(fold(word)) or self._words.get(fold(word))
                if cid:
                    found.append(cid)
                    if word is raw:
                        break  # the whole string mapped: its parts are not looked at
        return found

    def unmapped(self, raw_categories: Iterable[str], source: SourceSettings) -> list[str]:
        """Raw words that map to no category (for operators extending the synonyms)."""
        return [raw for raw in raw_categories if not self.map_words([raw], source)]


def entry_language(entry: EntryData, source: SourceSettings, default: str) -> str:
    """The entry's own xml:lang (or its feed's), else the source's configured language."""
    return entry.language or source.language or default
