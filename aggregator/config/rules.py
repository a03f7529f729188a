"""Keep and block rules (config `rules:` hub-wide, `sources[].keep` / `.block`): which of a
feed's entries the hub takes. A rule is a regular expression, run on RE2 like keyword rules
(keywords.py: linear time, case-insensitive), on one field when it starts with ``title:``,
``summary:``, ``categories:`` or ``link:``, else on any of them. With keep rules (the
source's and the hub's together), an entry must match one; a block rule wins over a keep.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aggregator.config.keywords import compile_keyword
from aggregator.models import EntryData
from aggregator.sanitize import plain_text

FIELDS = ("title", "summary", "categories", "link")


@dataclass(frozen=True)
class Rule:
    where: str  # its config key, as operators read it: sources[3].block[0]
    field: str | None  # one of FIELDS, or None: any
    pattern: Any  # compiled (keywords.compile_keyword)

    def matches(self, texts: dict[str, str]) -> bool:
        fields = [self.field] if self.field else FIELDS
        return any(self.pattern.search(texts[f]) for f in fields)


def split_rule(text: str) -> tuple[str | None, str]:
    """("title", "(?i)sponsored") from "title:(?i)sponsored"; (None, text) without one."""
    head, colon, rest = text.partition(":")
    return (head, rest) if colon and head in FIELDS else (None, text)


def rule(where: str, text: str) -> Rule:
    """KeywordError (keywords.py) when RE2 cannot run the pattern."""
    field, pattern = split_rule(text)
    return Rule(where, field, compile_keyword(pattern))


@dataclass(frozen=True)
class Rules:
    keep: tuple[Rule, ...] = ()
    block: tuple[Rule, ...] = ()

    @classmethod
    def of(cls, hub_keep: Sequence[str], hub_block: Sequence[str], index: int,
           keep: Sequence[str], block: Sequence[str]) -> Rules:
        """The rules for the source at ``index`` of `sources` (its own, then the hub's)."""
        return cls(tuple([rule(f"sources[{index}].keep[{i}]", t) for i, t in enumerate(keep)]
                         + [rule(f"rules.keep[{i}]", t) for i, t in enumerate(hub_keep)]),
                   tuple([rule(f"sources[{index}].block[{i}]", t)
                          for i, t in enumerate(block)]
                         + [rule(f"rules.block[{i}]", t) for i, t in enumerate(hub_block)]))

    def verdict(self, e: EntryData) -> tuple[bool, str]:
        """Whether ``e`` is taken, and why, in words."""
        if not (self.keep or self.block):
            return True, "no keep or block rule"
        texts = {"title": e.title, "summary": plain_text(e.summary or e.content or "", True),
                 "categories": "\n".join(e.raw_categories), "link": e.link or ""}
        blocked = next((r for r in self.block if r.matches(texts)), None)
        if blocked is not None:
            return False, f"blocked by rule {blocked.where}"
        if not self.keep:
            return True, "no block rule matches"
        kept = next((r for r in self.keep if r.matches(texts)), None)
        if kept is None:
            return False, "matches no keep rule"
        return True, f"kept by rule {kept.where}"


_INDEXES: dict[int, tuple[Any, dict[str, int]]] = {}  # id(settings) -> (settings, id -> i)


def rules_for(settings: Any, source: Any) -> Rules:
    """The keep and block rules that apply to ``source`` (a SourceSettings of
    ``settings``), named by their config keys."""
    hub = settings.rules
    if not (source.keep or source.block or hub.keep or hub.block):
        return Rules()
    held = _INDEXES.get(id(settings))
    if held is None or held[0] is not settings:
        _INDEXES.clear()  # one config at a time: a reload replaces it
        held = (settings, {s.id: i for i, s in enumerate(settings.sources)})
        _INDEXES[id(settings)] = held
    index = held[1].get(source.id, 0)
    return Rules.of(hub.keep, hub.block, index, source.keep, source.block)
