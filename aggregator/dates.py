"""Dates: aware UTC datetimes everywhere, fallbacks feedparser lacks, plausibility."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import dateutil.parser

EARLIEST_PLAUSIBLE = datetime(1995, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(days=1)

_NUMERIC = re.compile(
    r"^\s*(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?:[ T,]+(\d{1,2})[:h](\d{2})(?::(\d{2}))?)?\s*$")
_WORDY = re.compile(r"^\s*(?:[^\W\d][\w-]*\.?,?\s+)?"  # optional day name
                    r"(\d{1,2})(?:er)?\s+(?:de\s+)?([^\W\d]+)\.?\s+(?:de\s+)?"
                    r"(\d{4})(?:[ T,à]+(\d{1,2})[:h](\d{2})(?::(\d{2}))?)?\s*$", re.UNICODE)
_ENGLISH_MONTH = re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\b",
                            re.IGNORECASE)
_MONTHS = {
    # French, Spanish and Portuguese month names (and common abbreviations).
    "janvier": 1, "janv": 1, "fevrier": 2, "février": 2, "fevr": 2, "févr": 2, "mars": 3,
    "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "août": 8,
    "septembre": 9, "sept": 9, "octobre": 10, "oct": 10, "novembre": 11, "nov": 11,
    "decembre": 12, "décembre": 12, "dec": 12, "déc": 12,
    "enero": 1, "ene": 1, "febrero": 2, "feb": 2, "marzo": 3, "mar": 3, "abril": 4, "abr": 4,
    "mayo": 5, "may": 5, "junio": 6, "jun": 6, "julio": 7, "jul": 7, "agosto": 8, "ago": 8,
    "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
    "dic": 12, "janeiro": 1, "fevereiro": 2, "março": 3, "marco": 3, "maio": 5, "junho": 6,
    "julho": 7, "setembro": 9, "outubro": 10, "novembro": 11, "dezembro": 12, "dez": 12,
}


def from_struct(value: time.struct_time | None) -> datetime | None:
    """feedparser's *_parsed values are UTC struct_times."""
    if value is None:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def parse_loose(value: str | None) -> datetime | None:
    """Dates feedparser misses: DD/MM/YYYY, DD.MM.YYYY, French/Spanish/Portuguese, epoch."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit() and len(value) in (9, 10):
        return datetime.fromtimestamp(int(value), tz=UTC)
    m = _NUMERIC.match(value)
    if m:
        return _build(m.group(3), m.group(2), m.group(1), m.group(4), m.group(5), m.group(6))
    m = _WORDY.match(value)
    if m and m.group(2).lower() in _MONTHS:
        month = _MONTHS[m.group(2).lower()]
        return _build(m.group(3), month, m.group(1), m.group(4), m.group(5), m.group(6))
    return _english_words(value)


def _english_words(value: str) -> datetime | None:
    """'Friday, January 29, 2021 04:42 PM' and kin: a month written as a word is unambiguous,
    so dateutil may read it; purely numeric dates stay with the rules above."""
    if not _ENGLISH_MONTH.search(value):
        return None
    try:
        parsed = dateutil.parser.parse(value, dayfirst=True)
    except (ValueError, OverflowError, TypeError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _build(year: str, month: str | int, day: str, hour: str | None, minute: str | None,
           second: str | None) -> datetime | None:
    try:
        return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                        int(second or 0), tzinfo=UTC)
    except ValueError:
        return None


def plausible(value: datetime | None, now: datetime) -> datetime | None:
    """The date itself, or None when it is before 1995 or more than a day in the future."""
    if value is None or value < EARLIEST_PLAUSIBLE or value > now + FUTURE_TOLERANCE:
        return None
    return value


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None
