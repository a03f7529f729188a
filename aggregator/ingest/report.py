"""How the hub reads one feed or page: findings for the member who publishes it.

``findings(...)`` turns one fetch and its reading into findings, each with a severity, a
stable code and one sentence of advice. `aggregator check URL` runs it without storing
anything (and fetches twice, to catch ids that change between fetches); ingest runs it on
every document it reads, so each member's report page (``members/<id>.html``) follows its
feed. Codes are part of the interface: add new ones, never rename.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from aggregator.config import Settings, SourceSettings
from aggregator.config.taxonomy import Taxonomy, primary_language
from aggregator.dates import FUTURE_TOLERANCE
from aggregator.ingest.language import LanguageChooser
from aggregator.ingest.limits import over_caps
from aggregator.models import SCRAPED, Fetched, ParsedFeed
from aggregator.sanitize import plain_text

Severity = Literal["error", "warning", "info"]
NEAR_CAP = 0.8  # a body or entry count this close to its cap is worth a warning


@dataclass(frozen=True)
class Finding:
    severity: Severity
    code: str
    message: str


@dataclass(frozen=True)
class Report:
    url: str
    format: str | None
    entries: int
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def as_json(self) -> dict[str, object]:
        return {"ok": self.ok, "format": self.format or "", "entries": self.entries,
                "url": self.url, "findings": [{"severity": f.severity, "code": f.code,
                                               "message": f.message} for f in self.findings]}


@dataclass(frozen=True)
class Reader:
    """What reading needs from the hub: its settings, categories and languages."""

    settings: Settings
    taxonomy: Taxonomy
    languages: LanguageChooser


def findings(fetched: Fetched, parsed: ParsedFeed, source: SourceSettings, reader: Reader,
             now: datetime, earlier_ids: Mapping[str, str] | None = None,
             detect_language: bool = True) -> list[Finding]:
    """Everything worth telling about one read document. ``earlier_ids``: link -> id from
    an earlier read (a second fetch, or what the hub stored), to catch changing ids.
    ``detect_language``: read the text's language (the model takes a second to load: the
    check command does it, a poll does not)."""
    language = _language(parsed, source, reader.languages) if detect_language else []
    return [_format(parsed), *_ids(parsed, earlier_ids), *_dates(parsed, now),
            *_categories(parsed, source, reader.taxonomy), *language,
            *_sizes(fetched, parsed, reader.settings), *_capped(parsed, reader.settings),
            *_caching(fetched),
            *_sanitized(parsed), *_refused(parsed)]


def failed(code: str, message: str) -> Finding:
    return Finding("error", code, message)


FORMAT_NAMES = {"rss20": "RSS 2.0", "rss10": "RSS 1.0", "rss090": "RSS 0.90",
                "rss091": "RSS 0.91", "rss091u": "RSS 0.91", "rss091n": "RSS 0.91",
                "rss092": "RSS 0.92", "rss093": "RSS 0.93", "rss094": "RSS 0.94", "rss": "RSS",
                "atom10": "Atom 1.0", "atom03": "Atom 0.3", "atom": "Atom",
                "json10": "JSON Feed 1.0", "json11": "JSON Feed 1.1", "cdf": "CDF"}


def format_name(code: str | None) -> str:
    """"RSS 2.0" for rss20: the name a member knows their format by."""
    if code is None:
        return "unreadable"
    if code == SCRAPED:
        return "a page read by selectors"
    return FORMAT_NAMES.get(code, code)


def entries(n: int, one: str = "entry", many: str = "entries") -> str:
    """"1 entry", "3 entries"."""
    return f"{n:,} {one if n == 1 else many}"


def _have(n: int) -> str:
    return "has" if n == 1 else "have"


def _are(n: int) -> str:
    return "is" if n == 1 else "are"


def _format(parsed: ParsedFeed) -> Finding:
    name = format_name(parsed.format)
    kind = "page read by selectors" if parsed.format == SCRAPED else f"{name} feed"
    article = "An" if kind[0] in "AEIOUR" else "A"  # "an RSS", "an Atom", "a JSON Feed"
    if not parsed.entries:
        return Finding("warning", "no-entries", f"{article} {kind} with no entries: nothing "
                       "reaches the hub until it lists some.")
    return Finding("info", "format", f"{article} {kind} with {entries(len(parsed.entries))}.")


def _ids(parsed: ParsedFeed, earlier: Mapping[str, str] | None) -> list[Finding]:
    out = []
    if parsed.notes.ids_missing and parsed.format != SCRAPED:
        n = parsed.notes.ids_missing
        out.append(Finding("warning", "ids-missing", f"{entries(n)} {_have(n)} no id "
                           "(guid/id): the hub identifies them by link, so a changed link "
                           "makes a duplicate. Give every entry a permanent id."))
    repeated = [g for g, n in Counter(e.guid for e in parsed.entries if e.guid).items() if n > 1]
    if repeated:
        n = len(repeated)
        out.append(Finding("error", "ids-duplicated", f"{entries(n, 'id', 'ids')} {_are(n)} "
                           f"used by more than one entry (e.g. {repeated[0]!r}): entries "
                           "would overwrite each other. Each entry needs its own id."))
    changed = [e for e in parsed.entries if earlier and e.link and e.guid
               and earlier.get(e.link, e.guid) != e.guid]
    if changed:
        out.append(Finding("error", "ids-changing", f"{entries(len(changed))} changed id "
                           "between two reads (same link, new id): each read would look like "
                           "new stories. Keep ids stable."))
    return out


def _dates(parsed: ParsedFeed, now: datetime) -> list[Finding]:
    notes, out = parsed.notes, []
    if notes.dates_missing:
        n = notes.dates_missing
        out.append(Finding("warning", "dates-missing", f"{entries(n)} {_have(n)} no date: "
                           "the hub dates them when it first sees them. Add pubDate / "
                           "published."))
    if notes.dates_unreadable:
        out.append(Finding("warning", "dates-unreadable", f"Dates no reader understands, "
                           f"e.g. {notes.dates_unreadable[0]!r}: those entries are dated when "
                           "first seen. Use RFC 822 (RSS) or RFC 3339 (Atom, JSON Feed)."))
    if notes.dates_ours:
        n = notes.dates_ours
        out.append(Finding("info", "dates-fallback", f"{entries(n, 'date', 'dates')} {_are(n)} "
                           "in a local form (like 27/05/2021) the hub reads day first; "
                           "standard forms leave no doubt."))
    future = [e for e in parsed.entries if e.published and e.published > now + FUTURE_TOLERANCE]
    if future:
        n = len(future)
        out.append(Finding("warning", "dates-future", f"{entries(n)} {_are(n)} dated in the "
                           "future: the hub dates them when first seen. Check the time zone "
                           "of your dates."))
    return out


def _categories(parsed: ParsedFeed, source: SourceSettings, taxonomy: Taxonomy
                ) -> list[Finding]:
    words = Counter(w for e in parsed.entries for w in e.raw_categories)
    out = []
    for word, cid in dict(taxonomy.word_matches(words, source)).items():
        out.append(Finding("info", "category-mapped", f"Category {word!r} is filed under "
                           f"{taxonomy.label(cid, 'en')!r}."))
    for word in dict.fromkeys(taxonomy.unmapped(words, source)):
        near = taxonomy.closest(word)
        hint = f" (closest: {taxonomy.label(near, 'en')!r})" if near else ""
        out.append(Finding("warning", "category-unmapped", f"Category {word!r} matches no hub "
                           f"category{hint}: ask the hub to map it, or use a hub label."))
    return out


def _language(parsed: ParsedFeed, source: SourceSettings, languages: LanguageChooser
              ) -> list[Finding]:
    declared = parsed.meta.language or source.language
    texts = " ".join(f"{e.title}. {plain_text(e.summary or e.content or '', True)}"
                     for e in parsed.entries[:20])
    if len(texts) < 40 or len(languages.languages) < 2:
        return []
    detected = languages.detect(texts)
    if declared is None:
        return [Finding("info", "language-undeclared", f"No language declared; the text reads "
                        f"as {detected!r}. Declare it (<language>, xml:lang, language).")]
    if primary_language(declared) != primary_language(detected):
        return [Finding("warning", "language-mismatch", f"Declared language {declared!r}, but "
                        f"the text reads as {detected!r}: entries may land in the wrong "
                        "language feed.")]
    return [Finding("info", "language", f"Language {declared!r}, as the text reads.")]


def _sizes(fetched: Fetched, parsed: ParsedFeed, settings: Settings) -> list[Finding]:
    size, cap = len(fetched.body), settings.poll.max_bytes
    out = [Finding("warning" if size > cap * NEAR_CAP else "info", "size",
                   f"{size:,} bytes of the {cap:,} the hub reads at most.")]
    if len(parsed.entries) > settings.ingest.max_entries:
        out.append(Finding("warning", "entries-capped", f"{entries(len(parsed.entries))}; the "
                           f"hub keeps the newest {settings.ingest.max_entries}."))
    return out


def _capped(parsed: ParsedFeed, settings: Settings) -> list[Finding]:
    """Fields over the hub's caps: cut (text) or dropped (URLs), named with the cap."""
    caps = settings.ingest
    over = Counter(f for e in parsed.entries for f in over_caps(e, caps))
    if not over:
        return []
    limits = {"id": caps.max_url, "link or media URL": caps.max_url,
              "author": caps.max_author, "title": caps.max_title,
              "summary": caps.max_summary, "content": caps.max_content,
              "category": caps.max_category_length}
    said = "; ".join(f"{n} {'entry' if n == 1 else 'entries'} with a longer {field} than "
                     f"{limits[field]:,} characters" for field, n in over.items())
    return [Finding("warning", "fields-capped", f"{said}. The hub cuts longer text, drops "
                    "longer URLs and replaces longer ids by their digest.")]


def _caching(fetched: Fetched) -> list[Finding]:
    if fetched.status is None:
        return []  # a local file
    if not (fetched.etag or fetched.last_modified):
        return [Finding("warning", "no-validators", "No ETag or Last-Modified: every poll "
                        "downloads the whole feed. Send one, and answer 304 when unchanged.")]
    found = ", ".join(n for n, v in (("ETag", fetched.etag),
                                     ("Last-Modified", fetched.last_modified)) if v)
    hint = f"; fresh for {int(fetched.max_age)} s" if fetched.max_age else ""
    return [Finding("info", "caching", f"{found} sent: unchanged polls cost a 304{hint}.")]


def _sanitized(parsed: ParsedFeed) -> list[Finding]:
    if not parsed.notes.sanitized:
        return []
    n = parsed.notes.sanitized
    return [Finding("warning", "content-sanitized", f"{entries(n)} "
                    f"{'carries' if n == 1 else 'carry'} scripts, frames or event handlers; "
                    "the hub removes them. Publish plain HTML.")]


def _refused(parsed: ParsedFeed) -> list[Finding]:
    notes = parsed.notes
    if not notes.refused:
        return []
    return [Finding("warning", "items-refused", refused_text(notes.refused, notes.refused_why)
                    + ". Fix those items: the hub reads the others.")]


def refused_text(count: int, why: Sequence[str]) -> str:
    return (f"{count} {'item' if count == 1 else 'items'} left out"
            + (f" ({why[0]}{', ...' if count > 1 else ''})" if why else ""))


def summary(found: Sequence[Finding]) -> str:
    """One line: how many of each severity."""
    counts = Counter(f.severity for f in found)
    return ", ".join(f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}"
                     for s in ("error", "warning", "info"))
