"""Keyword rules, matched in linear time: the operator writes the pattern, a publisher
writes the text, so no pattern may backtrack for ever on a crafted title ((a+)+$ and 34
"a"s kept a poll busy past 90 s with Python's re). RE2 (google-re2) runs every pattern in
time linear in the text; patterns it cannot run (lookaround, backreferences) are refused
by check-config, with the reason.

RE2's \\b knows only ASCII letters, so "\\bénergie" would never match after a space. A \\b
at the start or end of the pattern (or of one of its alternatives) is rewritten into a
Unicode boundary that consumes the neighbouring character: the same answer for a search,
which is all a rule asks.
"""

from __future__ import annotations

import functools
import re
from typing import Any

MAX_MEM = 8 << 20  # a pattern's automaton; a larger one is refused

_BEFORE = r"(?:^|[^\pL\pN_])"  # a Unicode word boundary, the word on the right
_AFTER = r"(?:[^\pL\pN_]|$)"  # the word on the left
# \b at the start of the pattern or after "(", "(?:" or "|"; and before ")", "|" or the end
_LEADING = re.compile(r"(?:(?<=^)|(?<=\()|(?<=\(\?:)|(?<=\|))\\b")
_TRAILING = re.compile(r"(?<!\\)\\b(?=\)|\||$)")


class KeywordError(ValueError):
    """A pattern RE2 cannot run (the message says why)."""


@functools.lru_cache(maxsize=4096)  # a poll compiles each source's rules once
def compile_keyword(pattern: str) -> Any:  # an re2 pattern (search)
    """The rule for ``pattern``, matched case-insensitively; KeywordError if refused."""
    import re2  # here: parser processes, bounded in address space, never load it

    rewritten = _TRAILING.sub(lambda _: _AFTER, _LEADING.sub(lambda _: _BEFORE, pattern))
    try:
        return re2.compile(rewritten, _options())
    except re2.error as e:
        reason = e.args[0].decode() if e.args and isinstance(e.args[0], bytes) else str(e)
        raise KeywordError(f"{reason} (keyword rules run on RE2, in linear time: no "
                           "lookaround, no backreferences)") from e


@functools.cache
def _options() -> Any:
    import re2

    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # refused patterns are reported by check-config, not stderr
    options.max_mem = MAX_MEM
    return options
