"""The site's words, dates, plurals and language names in each page's language (Babel).

Messages live in gettext catalogs, ``aggregator/locale/<lang>/LC_MESSAGES/messages.po``,
kept as text and compiled in memory on first use (no binary .mo files in the repository).
A language without a catalog gets the English messages; dates, months, plurals and language
names still come from Babel's CLDR data for that language."""

from __future__ import annotations

import functools
import io
from datetime import UTC, datetime
from importlib import resources

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations


@functools.cache  # parsing a locale is costly, and pages ask for the same few many times
def locale_of(tag: str) -> Locale:
    """Babel's locale for a BCP 47 tag ("es-co"), its language alone, else English."""
    for candidate in (tag.replace("-", "_"), tag.split("-")[0]):
        try:
            return Locale.parse(candidate)
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse("en")


@functools.cache
def translations(language: str) -> NullTranslations:
    """The compiled catalog of ``language`` (primary subtag), or English (no catalog)."""
    po = resources.files("aggregator.render.site").joinpath(
        f"locale/{language}/LC_MESSAGES/messages.po")
    if not po.is_file():
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def catalog_languages() -> tuple[str, ...]:
    """Languages with a message catalog (English is the source language)."""
    folder = resources.files("aggregator.render.site").joinpath("locale")
    return tuple(sorted(p.name for p in folder.iterdir() if p.joinpath(
        "LC_MESSAGES/messages.po").is_file()))


@functools.cache  # every page's language switch names every tree's language
def own_name(tag: str) -> str:
    name = locale_of(tag).get_display_name(locale_of(tag)) or tag
    return name[:1].upper() + name[1:]


@functools.cache
def words(language: str) -> Words:
    return Words(language)


class Words:
    """Formatting for one page language; handed to the templates as ``fmt``."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.locale = locale_of(language)
        self._names: dict[str, str] = {}
        self._formatted: dict[object, str] = {}  # Babel takes ~0.1 ms a value; a site shows
        # each day and month thousands of times

    @property
    def direction(self) -> str:
        return "rtl" if self.locale.character_order == "right-to-left" else "ltr"

    def date(self, when: datetime) -> str:
        """27 mai 2021 / 27 de mayo de 2021 / May 27, 2021."""
        day = when.date()  # all Babel reads of a datetime here
        if day not in self._formatted:
            self._formatted[day] = format_date(day, "long", locale=self.locale)
        return self._formatted[day]

    def moment(self, when: datetime | None) -> str:
        """A date and time in UTC, for health tables."""
        if when is None:
            return ""
        key = ("moment", when)  # a cycle checks its sources within a few seconds: the
        # sources page of 2,000 shows a few hundred distinct moments
        if key not in self._formatted:
            self._formatted[key] = format_datetime(when, "medium", tzinfo=UTC,
                                               locale=self.locale) + " UTC"
        return self._formatted[key]

    def month(self, when: datetime) -> str:
        """mai 2021 / mayo de 2021 / May 2021."""
        key = ("month", when.year, when.month)
        if key not in self._formatted:
            self._formatted[key] = format_skeleton("yMMMM", when, locale=self.locale)
        return self._formatted[key]

    def number(self, value: int) -> str:
        key = ("number", value)  # the sources page counts 2,000 sources' entries
        if key not in self._formatted:
            self._formatted[key] = format_decimal(value, locale=self.locale)
        return self._formatted[key]

    def language_name(self, tag: str) -> str:
        """A language tag as a reader of this page says it: "espagnol (Colombie)"."""
        if tag not in self._names:
            self._names[tag] = locale_of(tag).get_display_name(self.locale) or tag
        return self._names[tag]

    def own_name(self, tag: str) -> str:
        """A language in its own words, for the language switch: "Français"."""
        return own_name(tag)


def N_(message: str) -> str:
    """Marks a word that pages translate at render time (``_(h.state)``)."""
    return message


# Words the templates translate from data rather than from literal text.
DATA_WORDS = (N_("member"), N_("partner"), N_("active"), N_("backing off"), N_("gone"),
              N_("disabled"), N_("never polled"), N_("removed"), N_("error"), N_("warning"),
              N_("info"))
