"""Dates: aware UTC datetimes everywhere, fallbacks feedparser lacks, plausibility."""

from __future__ import annotations

import re
import time
import unicodedata
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime, parsedate_tz

import dateutil.parser

EARLIEST_PLAUSIBLE = datetime(1995, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(days=1)

_TIME = r"(?:[ T,]+(\d{1,2})[:h](\d{2})(?::(\d{2}))?)?\s*$"
_NUMERIC = re.compile(r"^\s*(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})" + _TIME)  # day first
_YEAR_FIRST = re.compile(r"^\s*(\d{4})[/.](\d{1,2})[/.](\d{1,2})" + _TIME)  # 2021/05/27
_WORDY = re.compile(r"^\s*(?:[^\W\d][\w-]*\.?,?\s+)?"  # optional day name, "lun.," "Mo.,"
                    r"(\d{1,2})(?:er|º|\.)?\s+(?:de\s+)?([^\W\d]+)\.?,?\s+(?:de\s+)?"
                    r"(\d{4})(?:[ T,à]+(\d{1,2})[:h](\d{2})(?::(\d{2}))?"
                    # a zone, as a localized RFC 822 formatter writes it: +0200, +02:00, CEST
                    r"(?:\s*(?:([+-]\d{2}):?(\d{2})|([A-Za-z]{1,5})))?)?\s*$", re.UNICODE)
# Zone names: RFC 822's, and those of the countries whose members write dates in words.
_ZONES = {"UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "IST": 1,
          "CET": 1, "CEST": 2, "MEZ": 1, "MESZ": 2, "EET": 2, "EEST": 3, "MSK": 3,
          "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8,
          "PDT": -7, "ART": -3, "BRT": -3, "CLT": -4, "COT": -5, "PET": -5}
# Forms feedparser reads wrongly rather than not at all ("27-05-2021" -> 2027, epoch seconds
# -> 2016, "2021/05/27" -> November): ours are tried first for these.
_OURS_FIRST = re.compile(r"^\s*(\d{9,10}|\d{13}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}|"
                         r"\d{4}[/.]\d{1,2}[/.]\d{1,2})\b")
# RFC 822 as feeds write it: "Mon, 03 May 2021 09:30:00 +0100", "3 May 21 09:30 PDT".
_RFC822 = re.compile(r"^\s*(?:[A-Za-z]{3},?\s+)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+"
                     r"\d{1,2}:\d{2}(?::\d{2})?(?:\s+(?:[+-]\d{4}|[A-Za-z]{1,5}))?\s*$")
_ENGLISH_MONTH = re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\b",
                            re.IGNORECASE)
_MONTH_WORDS = {
    # Month names and abbreviations (accents folded) in the languages member sites write:
    # French, Spanish, Portuguese, Italian, German.
    1: "janvier janv enero ene janeiro jan gennaio gen januar janner",
    2: "fevrier fevr fev febrero feb fevereiro febbraio februar",
    3: "mars marzo mar marco marz maerz",
    4: "avril avr abril abr aprile apr april",
    5: "mai mayo may maio maggio mag",
    6: "juin junio jun junho giugno giu juni",
    7: "juillet juil julio jul julho luglio lug juli",
    8: "aout agosto ago august aug",
    9: "septembre sept septiembre setiembre sep set setembro settembre september",
    10: "octobre oct octubre outubro out ottobre ott oktober okt",
    11: "novembre nov noviembre novembro november",
    12: "decembre dec diciembre dic dezembro dez dicembre dezember",
}
_MONTHS = {word: month for month, words in _MONTH_WORDS.items() for word in words.split()}


def _month(word: str) -> int | None:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return _MONTHS.get("".join(c for c in decomposed if not unicodedata.combining(c)))


def ours_first(value: str | None) -> bool:
    """Whether ``value`` is a form feedparser misreads, so parse_loose must read it."""
    return bool(value and _OURS_FIRST.match(value))


def from_struct(value: time.struct_time | None) -> datetime | None:
    """feedparser's *_parsed values are UTC struct_times."""
    if value is None:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def read_date(text: str | None, parsed: datetime | None = None) -> datetime | None:
    """The one date rule for every format: forms other parsers misread are ours; then the
    format adapter's own reading (``parsed``); then RFC 3339, strict RFC 822, the loose
    forms, and last lenient RFC 822 (it takes "04:42 PM" for 04:42, so only what nothing
    else read)."""
    if ours_first(text):
        return parse_loose(text)
    if parsed is not None or not text:
        return parsed
    try:
        found = datetime.fromisoformat(text.strip())
        return found.astimezone(UTC) if found.tzinfo else found.replace(tzinfo=UTC)
    except ValueError:
        pass
    strict = rfc822(text)
    if strict is not None:
        return strict
    loose = parse_loose(text)
    if loose is not None:
        return loose
    try:
        return parsedate_to_datetime(text).astimezone(UTC)
    except (TypeError, ValueError, IndexError):
        return None


def rfc822(text: str) -> datetime | None:
    """A strictly RFC 822 date; a zone it does not know (military letters) counts as UTC,
    as feedparser reads it."""
    if not _RFC822.match(text):
        return None
    fields = parsedate_tz(text)
    if fields is None:
        return None
    try:
        moment = datetime(*fields[:6], tzinfo=UTC)
    except (ValueError, OverflowError):  # 31 Feb is no date (mktime would roll it over)
        return None
    return moment - timedelta(seconds=fields[9] or 0)


def parse_loose(value: str | None) -> datetime | None:
    """Dates feedparser misses or misreads: DD/MM/YYYY, DD-MM-YYYY, DD.MM.YYYY, YYYY/MM/DD,
    French/Spanish/Portuguese/Italian/German words with or without abbreviations and dots,
    epoch seconds or milliseconds."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit() and len(value) in (9, 10, 13):  # epoch seconds, or milliseconds
        return datetime.fromtimestamp(int(value) / (1000 if len(value) == 13 else 1), tz=UTC)
    m = _NUMERIC.match(value)
    if m:
        return _build(m.group(3), m.group(2), m.group(1), m.group(4), m.group(5), m.group(6))
    m = _YEAR_FIRST.match(value)
    if m:
        return _build(m.group(1), m.group(2), m.group(3), m.group(4), m.group(5), m.group(6))
    m = _WORDY.match(value)
    month = _month(m.group(2)) if m else None
    if m and month:
        offset = _offset(m.group(7), m.group(8), m.group(9))
        built = _build(m.group(3), month, m.group(1), m.group(4), m.group(5), m.group(6))
        return None if built is None or offset is None else built - offset
    return _english_words(value)


def _offset(hours: str | None, minutes: str | None, name: str | None) -> timedelta | None:
    """A written zone as an offset from UTC (none written: UTC); None for a name we do not
    know, rather than a guess hours off."""
    if hours is not None:
        sign = -1 if hours.startswith("-") else 1
        return sign * timedelta(hours=abs(int(hours)), minutes=int(minutes or 0))
    if name is None:
        return timedelta(0)
    known = _ZONES.get(name.upper())
    return None if known is None else timedelta(hours=known)


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


def utcnow() -> datetime:
    """The clock the service runs on: UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None
