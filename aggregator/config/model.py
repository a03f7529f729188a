"""The settings records: what config.yaml says, validated once (check.py), frozen and
passed explicitly; each default is written here once (the checker reads it from here), and
the units settings are written in (durations, sizes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path

from aggregator.errors import ConfigError
from aggregator.models import SourceKind

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_DURATION = timedelta(days=3650)
_SIZE = re.compile(r"^\s*(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$")
_SIZE_UNITS = {"B": 1, "KB": 10**3, "KiB": 2**10, "MB": 10**6, "MiB": 2**20,
               "GB": 10**9, "GiB": 2**30}


@dataclass(frozen=True)
class HubSettings:
    title: str
    base_url: str
    id: str
    language: str = "en"
    languages: tuple[str, ...] = ("en",)
    contact: str | None = None
    rights: str | None = None
    websub_hub: str | None = None  # WebSub hub to ping when feeds change
    titles: dict[str, str] = field(default_factory=dict)  # hub.title given by language
    description: dict[str, str] = field(default_factory=dict)  # hub.description, by language

    def title_in(self, language: str | None) -> str:
        """The hub's title in ``language`` (its primary subtag), else the default one."""
        return _by_language(self.titles, language) or self.title

    def description_in(self, language: str | None) -> str:
        return _by_language(self.description, language) or \
            f"News from the members and partners of {self.title_in(language)}"


def _by_language(values: dict[str, str], language: str | None) -> str | None:
    if not values or language is None:
        return None
    return values.get(language) or values.get(language.split("-")[0].lower()) or \
        values.get("")  # one text for every language


STORE_PATH = "data/store.json"  # store.path, relative to the config file
OUTPUT_DIR = "feeds"  # output.dir, relative to the config file


@dataclass(frozen=True)
class StoreSettings:
    path: Path
    url: str | None = None  # postgresql://...: the scale-out store instead of the file


@dataclass(frozen=True)
class QueueSettings:
    """Scale-out only (with store.url): the Celery broker and the claim lease."""

    broker: str = "redis://127.0.0.1:6379/0"
    lease: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class OutputSettings:
    dir: Path
    entries_per_feed: int = 50
    theme: Path | None = None  # templates/*.html and style.css overriding the shipped ones


@dataclass(frozen=True)
class SiteSettings:
    # how far back a river's by-arrival pages go (entries); older ones are on the month pages
    river_depth: int = 500


@dataclass(frozen=True)
class PollSettings:
    interval: timedelta = timedelta(hours=1)
    workers: int = 8
    per_host: int = 2
    timeout: timedelta = timedelta(seconds=30)
    max_bytes: int = 10 * 2**20
    allow_private_networks: bool = False
    allow_hosts: tuple[str, ...] = ()
    proxy: str | None = None
    silent_after: timedelta = timedelta(days=60)  # answers fine, nothing new: flagged


@dataclass(frozen=True)
class IngestSettings:
    """Caps applied to what one fetch can bring in (docs/config.md)."""

    max_entries: int = 100  # taken from one fetch, newest first
    max_title: int = 500  # characters
    max_summary: int = 5_000
    max_content: int = 200_000
    max_categories: int = 20
    max_category_length: int = 100
    max_url: int = 2_048  # links, ids, enclosure and picture URLs: a longer one is dropped
    max_author: int = 500  # characters per author name (a "A, B, C..." list of a paper); 10 names
    parse_timeout: timedelta = timedelta(seconds=20)
    parse_memory: int = 2**30  # bytes of address space for a parser process


@dataclass(frozen=True)
class RetentionSettings:
    """How long entries are kept: older ones, or ones beyond the count, are pruned."""

    max_age: timedelta | None = None  # none: entries are kept by count only
    max_per_category: int = 5000
    max_tombstones: int = 20000  # keys of pruned entries remembered, newest kept


@dataclass(frozen=True)
class ServeSettings:
    host: str = "127.0.0.1"
    port: int = 8080


@dataclass(frozen=True)
class CategorySettings:
    id: str
    labels: dict[str, str] = field(default_factory=dict)
    synonyms: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    fallback: bool = False  # entries that map to no category go here

    def label(self, language: str) -> str:
        return self.labels.get(language) or self.labels.get("en") or self.id


@dataclass(frozen=True)
class ScrapeSettings:
    """How to read entries from a page with no feed: CSS selectors relative to each item."""

    item: str
    title: str
    link: str | None = None
    summary: str | None = None
    date: str | None = None
    categories: str | None = None
    meta: str | None = None  # one element whose text ``pattern`` reads
    pattern: re.Pattern[str] | None = None  # named groups: category, date
    date_format: str = "day-first"  # day-first | month-first | a strptime format


@dataclass(frozen=True)
class AuthSettings:
    """Basic-auth credentials: the password is read when a request is made, from an
    environment variable or a file, so it is never in config.yaml, outputs, logs or status."""

    username: str
    password_env: str | None = None
    password_file: Path | None = None

    def password(self) -> str:
        """The password now; ConfigError naming where it was looked for."""
        import os
        if self.password_env is not None:
            value = os.environ.get(self.password_env)
            if value is None:
                raise ConfigError(f"auth: the environment variable {self.password_env} is "
                                  "not set")
            return value
        assert self.password_file is not None
        try:
            return self.password_file.read_text(encoding="utf-8").strip("\r\n")
        except OSError as e:
            raise ConfigError(f"auth: cannot read {self.password_file}: "
                              f"{e.strerror or e}") from e


@dataclass(frozen=True)
class RulesSettings:
    """Hub-wide keep and block rules (config/rules.py), beside each source's own."""

    keep: tuple[str, ...] = ()
    block: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceSettings:
    id: str
    name: str
    kind: SourceKind
    url: str | None = None
    path: Path | None = None
    language: str | None = None
    categories: tuple[str, ...] = ()
    category_map: dict[str, str] = field(default_factory=dict)
    interval: timedelta | None = None
    enabled: bool = True
    scrape: ScrapeSettings | None = None
    keep: tuple[str, ...] = ()  # rules (config/rules.py): with any, an entry must match one
    block: tuple[str, ...] = ()  # an entry matching one is not taken (wins over keep)
    headers: dict[str, str] = field(default_factory=dict)  # sent with each request
    user_agent: str | None = None  # instead of the hub's
    auth: AuthSettings | None = None  # HTTP basic auth; the password never in the config
    silent_after: timedelta | None = None  # instead of poll.silent_after

    def location(self, base: Path) -> str:
        """The URL we poll, or ``path:`` and the file relative to ``base`` (the config dir)."""
        if self.url:
            return self.url
        return f"path:{self.path.relative_to(base)}" if self.path else ""


@dataclass(frozen=True)
class Settings:
    config_path: Path
    hub: HubSettings
    store: StoreSettings
    output: OutputSettings
    poll: PollSettings
    serve: ServeSettings
    ingest: IngestSettings
    retention: RetentionSettings
    categories: tuple[CategorySettings, ...]
    sources: tuple[SourceSettings, ...]
    queue: QueueSettings = QueueSettings()
    rules: RulesSettings = RulesSettings()
    site: SiteSettings = SiteSettings()

    @cached_property
    def _by_id(self) -> dict[str, SourceSettings]:
        return {s.id: s for s in self.sources}  # a lookup per source per cycle: 2,000 x 2,000

    def source(self, source_id: str) -> SourceSettings:
        found = self._by_id.get(source_id)
        if found is not None:
            return found
        hint = did_you_mean(source_id, [s.id for s in self.sources])
        raise ConfigError(f"no source with id {source_id!r} in {self.config_path}{hint}")

    def interval_of(self, source: SourceSettings) -> timedelta:
        return source.interval or self.poll.interval

    def silent_after(self, source: SourceSettings) -> timedelta:
        return source.silent_after or self.poll.silent_after


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """" (did you mean 'interval'?)" for the nearest of ``known``, or ""."""
    import difflib
    near = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {near[0]!r}?)" if near else ""


def parse_duration(value: str) -> timedelta:
    m = _DURATION.match(value)
    if not m:
        raise ValueError("must be a duration like 90s, 30m, 2h or 1d")
    seconds = float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"must be at most {MAX_DURATION.days}d")
    return timedelta(seconds=seconds)


def parse_size(value: str | int) -> int:
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError("must be a size like 512KiB or 10MiB")
    return int(m.group(1)) * _SIZE_UNITS[m.group(2) or "B"]
