"""Choosing an entry's language: its own xml:lang, else its feed's, else the source's
configured language, else detection restricted to the hub's languages (py3langid).

py3langid (a maintained, numpy-based fork of langid.py) is small, deterministic and can be
restricted to a set of languages; its model loads lazily, once, on the first entry that
needs it. See docs/decisions.md for the alternatives.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from aggregator.config import SourceSettings
from aggregator.models import EntryData
from aggregator.sanitize import plain_text


class LanguageChooser:
    def __init__(self, languages: tuple[str, ...], default: str) -> None:
        self.languages = tuple(dict.fromkeys(lang.split("-")[0].lower() for lang in languages))
        self.default = default
        self._identifier: Any = None
        self._lock = threading.Lock()

    def choose(self, entry: EntryData, source: SourceSettings) -> str:
        if entry.language:
            return entry.language
        if source.language:
            return source.language
        text = plain_text(entry.summary or entry.content or "", True)
        return self.detect(f"{entry.title}. {text}")

    def detect(self, text: str) -> str:
        if len(self.languages) < 2 or len(text.strip()) < 3:
            return self.languages[0] if self.languages else self.default
        language, _ = self._model().classify(text[:2000])
        return str(language)

    def _model(self) -> Any:
        with self._lock:
            if self._identifier is None:
                self._identifier = _identifier(self.languages)
            return self._identifier


@functools.lru_cache(maxsize=8)
def _identifier(languages: tuple[str, ...]) -> Any:
    """The model takes a second to load: once per process and language set, not per
    Aggregator (read-only once its languages are set, so shared between threads)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(languages))
    return identifier
