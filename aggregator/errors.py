"""The one exception tree of the aggregator.

AggregatorError
 +-- ConfigError        config.yaml is missing, unreadable or invalid (message names the key)
 +-- StoreError         the store cannot be used
 |    +-- StoreCorrupt  the store file is not a valid store (it is left untouched)
 |    +-- StoreLocked   another process holds the store for writing
 |    +-- ClaimLost     a fenced write found its claim taken over (scale-out): dropped
 +-- NotFound           what an operator named (an entry, by key, id or link) is not there
 +-- FetchError         one source could not be fetched (recorded per source, never
 |                      raised out of a cycle)
 +-- ParseError         one source's body is not a feed we can read (idem)

Foreign exceptions are wrapped once, with ``raise ... from e``.
"""

from __future__ import annotations

import re

MAX_MESSAGE = 300  # characters of a per-source error kept, logged and printed
# terminal escapes (CSI "ESC[...m", OSC "ESC]...BEL"), then any other control character
_ESCAPES = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]+")


def printable(text: str, limit: int = MAX_MESSAGE) -> str:
    """Text from a third party made safe for a terminal and a log line: escapes and control
    characters removed (line breaks become spaces), at most ``limit`` characters."""
    text = _CONTROLS.sub(" ", _ESCAPES.sub("", text)).strip()
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


class AggregatorError(Exception):
    """Root of every error the aggregator raises on purpose."""


class ConfigError(AggregatorError):
    """The configuration is invalid; ``errors`` holds one message per problem."""

    def __init__(self, errors: list[str] | str) -> None:
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("\n".join(self.errors))


class StoreError(AggregatorError):
    """The store cannot be opened, read or written."""


class StoreCorrupt(StoreError):
    """The store file exists but does not hold a valid store."""


class StoreLocked(StoreError):
    """Another process has the store open for writing."""


class ClaimLost(StoreError):
    """A fenced write found its claim taken over: the outcome is dropped, not stored."""


class NotFound(AggregatorError):
    """Nothing stored matches what was asked for; ``id`` is what was asked."""

    def __init__(self, id: str, message: str) -> None:
        self.id = id
        super().__init__(message)


class FetchError(AggregatorError):
    """A source could not be fetched; ``status`` is the HTTP status when there was one,
    ``retry_after`` the seconds the server asked us to wait."""

    def __init__(self, message: str, status: int | None = None,
                 retry_after: float | None = None) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(printable(message))  # reasons and URLs come from the server


class ParseError(AggregatorError):
    """A fetched body is not a feed we can read."""

    def __init__(self, message: str) -> None:
        super().__init__(printable(message))  # parser messages quote the document
