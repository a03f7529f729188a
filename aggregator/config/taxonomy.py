"""Filing entries under the hub's own categories, and choosing their language.

Raw category words from member feeds ("Résilience, Resiliencia", "mobility", "Migration /
Mobilité") are folded (case, accents, punctuation, spaces), split on , ; / |, and looked up in
the labels and synonyms of the configured categories.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable

from aggregator.config import CategorySettings, SourceSettings
from aggregator.config.keywords import compile_keyword
from aggregator.models import EntryData
from aggregator.sanitize import plain_text

UNCATEGORIZED = "uncategorized"  # the built-in fallback, when no category is marked fallback
_FALLBACK_LABELS = {"en": "Uncategorized", "fr": "Non classé", "es": "Sin categoría",
                    "pt": "Sem categoria", "de": "Ohne Kategorie"}
_SPLIT = re.compile(r"[,;/|]")
_PUNCT = re.compile(r"[^\w\s]|_", re.UNICODE)
_SPACES = re.compile(r"\s+")


class _CombiningMarks(dict[int, int | None]):
    """A str.translate table that drops combining marks, filled in as characters appear."""

    def __missing__(self, code: int) -> int | None:
        value = None if unicodedata.combining(chr(code)) else code
        self[code] = value
        return value


_NO_MARKS = _CombiningMarks()


def fold(word: str) -> str:
    """Compare-form of a category word: case-folded, accents stripped, punctuation to spaces."""
    folded = word.casefold()
    stripped = folded if folded.isascii() else \
        unicodedata.normalize("NFKD", folded).translate(_NO_MARKS)
    return _SPACES.sub(" ", _PUNCT.sub(" ", stripped)).strip()


def split_words(raw: str) -> list[str]:
    """The whole string first, then its parts, so 'Migrations et mobilité' can map as one."""
    parts = [p.strip() for p in _SPLIT.split(raw) if p.strip()]
    return [raw, *parts] if len(parts) > 1 else [raw]


class Taxonomy:
    """The configured categories, indexed for lookup."""

    def __init__(self, categories: Iterable[CategorySettings]) -> None:
        self.categories = tuple(categories)
        marked = [c.id for c in self.categories if c.fallback]
        self.fallback = marked[0] if marked else UNCATEGORIZED
        self.order = {c.id: i for i, c in enumerate(self.categories) if not c.fallback}
        self.order[self.fallback] = len(self.order)  # always last
        self._words: dict[str, str] = {}
        for c in self.categories:
            for word in (c.id, *c.labels.values(), *c.synonyms):
                self._words.setdefault(fold(word), c.id)
        self._rules = [(c.id, p, compile_keyword(p)) for c in self.categories
                       for p in c.keywords]

    @property
    def ids(self) -> tuple[str, ...]:
        """Every category id, the fallback last."""
        return tuple(sorted(self.order, key=self.order.__getitem__))

    def label(self, category_id: str, language: str) -> str:
        for c in self.categories:
            if c.id == category_id:
                return c.label(language)
        if category_id == UNCATEGORIZED:
            return _FALLBACK_LABELS.get(language.split("-")[0], _FALLBACK_LABELS["en"])
        return category_id

    def classify(self, entry: EntryData, source: SourceSettings) -> tuple[str, ...]:
        """Mapped words and keyword rules, else the source defaults, else the fallback."""
        found = {cid for cid, _ in self.explain(entry, source)}
        return tuple(sorted(found, key=self.order.__getitem__))

    def explain(self, entry: EntryData, source: SourceSettings) -> list[tuple[str, str]]:
        """(category id, why) for every category the entry is filed under."""
        reasons = [(cid, f"category word {word!r}") for word, cid in
                   self.word_matches(entry.raw_categories, source)]
        text = f"{entry.title} {plain_text(entry.summary or entry.content or '', True)}"
        reasons += [(cid, f"keyword rule {pattern!r}") for cid, pattern, rule in self._rules
                    if rule.search(text)]
        if not reasons:
            reasons = [(cid, "default category of the source") for cid in source.categories]
        return reasons or [(self.fallback, "nothing else matched")]

    def map_words(self, raw_categories: Iterable[str], source: SourceSettings) -> list[str]:
        return [cid for _, cid in self.word_matches(raw_categories, source)]

    def word_matches(self, raw_categories: Iterable[str], source: SourceSettings
                     ) -> list[tuple[str, str]]:
        """(word, category id) for each raw word, or part of one, that maps."""
        overrides = {fold(k): v for k, v in source.category_map.items()}
        found: list[tuple[str, str]] = []
        for raw in raw_categories:
            for word in split_words(raw):
                cid = overrides.get(fold(word)) or self._words.get(fold(word))
                if cid:
                    found.append((word, cid))
                    if word is raw:
                        break  # the whole string mapped: its parts are not looked at
        return found

    def unmapped(self, raw_categories: Iterable[str], source: SourceSettings) -> list[str]:
        """Raw words, or parts of them, that map to no category (for operators extending
        the synonyms): of "Resiliencia; Medio ambiente", "Medio ambiente"."""
        out: list[str] = []
        for raw in raw_categories:
            if any(word == raw for word, _ in self.word_matches([raw], source)):
                continue  # the whole string maps
            parts = split_words(raw)[1:] or [raw]
            out += [p for p in parts if not self.map_words([p], source)]
        return out


    def closest(self, word: str) -> str | None:
        """The category whose label or synonym is nearest to an unmapped word, if any is
        near (for the member's feed report: "did you mean ...")."""
        near = difflib.get_close_matches(fold(word), list(self._words), n=1, cutoff=0.6)
        return self._words[near[0]] if near else None


def primary_language(tag: str) -> str:
    """'fr-CA' -> 'fr': per-language outputs group regional variants."""
    return tag.split("-")[0].lower()
