"""Validating the raw YAML data key by key: one error per bad key, with its path and line;
defaults come from the settings records (model.py)."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import cssselect

from aggregator.config.keywords import KeywordError, compile_keyword
from aggregator.config.model import (
    OUTPUT_DIR,
    STORE_PATH,
    AuthSettings,
    CategorySettings,
    HubSettings,
    IngestSettings,
    OutputSettings,
    PollSettings,
    QueueSettings,
    RetentionSettings,
    RulesSettings,
    ScrapeSettings,
    ServeSettings,
    Settings,
    SiteSettings,
    SourceSettings,
    StoreSettings,
    did_you_mean,
    parse_duration,
    parse_size,
)

MIN_MAX_BYTES, MAX_MAX_BYTES = 2**10, 2**30  # poll.max_bytes: a feed fits; memory too
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 token
_OWN_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "accept-encoding",
                "if-none-match", "if-modified-since", "authorization"}
_SOURCE_ID = re.compile(r"^[a-z0-9-]+$")
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def keys(record: type) -> set[str]:
    """The keys a config section takes: its record's fields, written once (model.py)."""
    return {f.name for f in dataclasses.fields(record)}


class Checker:
    """Walks the raw YAML data, collecting one error per bad key."""

    def __init__(self, path: Path, lines: dict[str, int]) -> None:
        self.path = path
        self.base = path.resolve().parent
        self.lines = lines
        self._found: list[tuple[int, int, str]] = []  # (line, order, message)

    @property
    def errors(self) -> list[str]:
        """Every error, in the order of the file (errors without a line last)."""
        return [message for _, _, message in sorted(self._found)]

    # -- helpers ---------------------------------------------------------------------------

    def error(self, key: str, message: str) -> None:
        line = self.lines.get(key)
        where = f"{self.path}:{line}" if line else str(self.path)
        self._found.append((line or 10**9, len(self._found),
                            f"{where}: {key or '(top level)'}: {message}"))

    def mapping(self, data: Any, key: str, known: set[str],
                required: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.error(key, "must be a mapping")
            return {}
        for k in data:
            if k not in known:
                expected = ", ".join(sorted(known))
                self.error(_join(key, str(k)), f"unknown key{did_you_mean(str(k), known)} "
                           f"(expected one of: {expected})")
        for k in sorted(required - set(data)):
            self.error(_join(key, k), "is required")
        return {k: v for k, v in data.items() if k in known}

    def string(self, data: dict[str, Any], key: str, name: str, default: str | None = None
               ) -> str | None:
        value = data.get(name, default)
        if value is None or (isinstance(value, str) and value.strip()):
            return value.strip() if isinstance(value, str) else value
        self.error(_join(key, name), "must be a non-empty string")
        return default

    def integer(self, data: dict[str, Any], key: str, name: str, default: int, lo: int, hi: int
                ) -> int:
        value = data.get(name, default)
        if isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi:
            return value
        self.error(_join(key, name), f"must be an integer from {lo} to {hi}")
        return default

    def boolean(self, data: dict[str, Any], key: str, name: str, default: bool) -> bool:
        value = data.get(name, default)
        if isinstance(value, bool):
            return value
        self.error(_join(key, name), "must be true or false")
        return default

    def duration(self, data: dict[str, Any], key: str, name: str, default: timedelta | None
                 ) -> timedelta | None:
        if name not in data:
            return default
        try:
            value = parse_duration(str(data[name]))
        except (ValueError, OverflowError) as e:
            self.error(_join(key, name), f"{e} (got {data[name]!r})")
            return default
        if value.total_seconds() <= 0:
            self.error(_join(key, name), "must be longer than zero")
        return value

    def size(self, data: dict[str, Any], key: str, name: str, default: int) -> int:
        if name not in data:
            return default
        try:
            return parse_size(data[name])
        except ValueError as e:
            self.error(_join(key, name), f"{e} (got {data[name]!r})")
            return default

    def strings(self, data: dict[str, Any], key: str, name: str) -> tuple[str, ...]:
        value = data.get(name) or []
        if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
            return tuple(v.strip() for v in value)
        self.error(_join(key, name), "must be a list of non-empty strings")
        return ()

    def language(self, data: dict[str, Any], key: str, name: str, default: str | None
                 ) -> str | None:
        value = self.string(data, key, name, default)
        if value is not None and not _LANG.match(value):
            self.error(_join(key, name), f"must be a language tag like en or fr-CA (got {value!r})")
        return value

    # -- sections --------------------------------------------------------------------------

    def settings(self, data: Any) -> Settings | None:
        top = self.mapping(data, "", keys(Settings) - {"config_path"}, {"hub", "sources"})
        hub = self.hub(top.get("hub"))
        categories = self.categories(top.get("categories"))
        sources = self.sources(top.get("sources"), {c.id for c in categories})
        settings = Settings(
            config_path=self.path.resolve(), hub=hub, store=self.store(top.get("store")),
            output=self.output(top.get("output")), poll=self.poll(top.get("poll")),
            serve=self.serve(top.get("serve")), ingest=self.ingest(top.get("ingest")),
            retention=self.retention(top.get("retention")),
            categories=categories, sources=sources, queue=self.queue(top.get("queue")),
            rules=self.top_rules(top.get("rules")), site=self.site(top.get("site")))
        return None if self.errors else settings

    def site(self, data: Any) -> SiteSettings:
        d = self.mapping(data, "site", keys(SiteSettings))
        return SiteSettings(river_depth=self.integer(d, "site", "river_depth",
                                                     SiteSettings.river_depth, 1, 1_000_000))

    def hub(self, data: Any) -> HubSettings:
        d = self.mapping(data, "hub", keys(HubSettings) - {"titles"}, {"title", "base_url"})
        websub = self.string(d, "hub", "websub_hub")
        if websub is not None and not _is_http_url(websub):
            self.error("hub.websub_hub", f"must be an http or https URL (got {websub!r})")
        base_url = self.string(d, "hub", "base_url", "http://127.0.0.1:8080/") or ""
        if not _is_http_url(base_url):
            self.error("hub.base_url", "must be an http or https URL")
        base_url = base_url if base_url.endswith("/") else base_url + "/"
        languages = self.strings(d, "hub", "languages") or HubSettings.languages
        for i, lang in enumerate(languages):
            if not _LANG.match(lang):
                self.error(f"hub.languages[{i}]", f"must be a language tag (got {lang!r})")
        language = self.language(d, "hub", "language", HubSettings.language) \
            or HubSettings.language
        titles = self.by_language(d, "hub", "title")
        title = (titles.get(language) or next(iter(titles.values()), None)) if titles else \
            self.string(d, "hub", "title", "News hub")
        return HubSettings(
            title=title or "News hub", titles=titles,
            description=self.by_language(d, "hub", "description"), base_url=base_url,
            id=self.string(d, "hub", "id", base_url) or base_url,
            language=language, languages=languages,
            contact=self.string(d, "hub", "contact"), rights=self.string(d, "hub", "rights"),
            websub_hub=websub)

    def by_language(self, d: dict[str, Any], key: str, name: str) -> dict[str, str]:
        """A string, or a mapping of language tags to strings: as the mapping (a plain
        string is {} for a title, whose default the caller keeps; {"": s} otherwise)."""
        value = d.get(name)
        if value is None or (isinstance(value, str) and name == "title"):
            return {}
        if isinstance(value, str) and value.strip():
            return {"": value.strip()}
        if isinstance(value, dict) and value and all(
                isinstance(k, str) and _LANG.match(k) and isinstance(v, str) and v.strip()
                for k, v in value.items()):
            return {k.lower(): v.strip() for k, v in value.items()}
        self.error(_join(key, name), "must be a string, or a mapping of language tags to "
                   "strings (en: ..., fr: ...)")
        return {}

    def store(self, data: Any) -> StoreSettings:
        d = self.mapping(data, "store", keys(StoreSettings))
        url = self.string(d, "store", "url")
        if url is not None and not url.startswith(("postgresql://", "postgres://")):
            self.error("store.url", f"must be a postgresql:// URL (got {url!r})")
        if url is not None and "path" in d:
            self.error("store", "give path (TinyDB) or url (PostgreSQL), not both")
        return StoreSettings(path=self.base / (self.string(d, "store", "path", STORE_PATH)
                                               or ""), url=url)

    def queue(self, data: Any) -> QueueSettings:
        d = self.mapping(data, "queue", keys(QueueSettings))
        broker = self.string(d, "queue", "broker", QueueSettings.broker) or ""
        if not broker.startswith(("redis://", "rediss://")):
            self.error("queue.broker", f"must be a redis:// URL (got {broker!r})")
        return QueueSettings(broker=broker, lease=self.duration(d, "queue", "lease",
                                                                 QueueSettings.lease)
                             or QueueSettings.lease)

    def output(self, data: Any) -> OutputSettings:
        d = self.mapping(data, "output", keys(OutputSettings))
        out = self.base / (self.string(d, "output", "dir", OUTPUT_DIR) or "")
        blocked = next((p for p in (out, *out.parents) if p.exists()), None)
        if blocked is not None and not blocked.is_dir():
            self.error("output.dir", f"{blocked} is a file, not a directory: the outputs "
                       "need a directory there")
        theme = self.string(d, "output", "theme")
        return OutputSettings(
            theme=self.theme(self.base / theme) if theme else None,
            dir=out,
            entries_per_feed=self.integer(d, "output", "entries_per_feed",
                                          OutputSettings.entries_per_feed, 1, 10000))

    def theme(self, folder: Path) -> Path | None:
        """An operator's theme folder (its templates are checked by check-config:
        operations.check_config, which may look at the renderer)."""
        if not folder.is_dir():
            self.error("output.theme", f"{folder} is not a folder")
            return None
        return folder

    def poll(self, data: Any) -> PollSettings:
        k = "poll"
        d = self.mapping(data, k, keys(PollSettings))
        proxy = self.string(d, k, "proxy")
        if proxy is not None and not _is_http_url(proxy):
            self.error("poll.proxy", f"must be an http or https URL (got {proxy!r})")
        allow_hosts = self.allow_hosts(d)
        max_bytes = self.size(d, k, "max_bytes", PollSettings.max_bytes)
        if not MIN_MAX_BYTES <= max_bytes <= MAX_MAX_BYTES:
            self.error("poll.max_bytes", f"must be between 1KiB and 1GiB (got {max_bytes:,} "
                       "bytes): it caps every body read, compressed and decoded")
            max_bytes = PollSettings.max_bytes
        return PollSettings(
            interval=self.duration(d, k, "interval", None) or PollSettings.interval,
            workers=self.integer(d, k, "workers", PollSettings.workers, 1, 256),
            per_host=self.integer(d, k, "per_host", PollSettings.per_host, 1, 64),
            timeout=self.duration(d, k, "timeout", None) or PollSettings.timeout,
            max_bytes=max_bytes,
            allow_private_networks=self.boolean(d, k, "allow_private_networks",
                                                PollSettings.allow_private_networks),
            allow_hosts=allow_hosts, proxy=proxy,
            silent_after=self.duration(d, k, "silent_after", None) or
            PollSettings.silent_after)

    def ingest(self, data: Any) -> IngestSettings:
        k, base = "ingest", IngestSettings()
        d = self.mapping(data, k, keys(IngestSettings))
        memory = self.size(d, k, "parse_memory", base.parse_memory)
        if memory < 64 * 2**20:
            self.error("ingest.parse_memory", "must be at least 64MiB")
        return IngestSettings(
            max_entries=self.integer(d, k, "max_entries", base.max_entries, 1, 10_000),
            max_title=self.integer(d, k, "max_title", base.max_title, 10, 10_000),
            max_summary=self.integer(d, k, "max_summary", base.max_summary, 10, 1_000_000),
            max_content=self.integer(d, k, "max_content", base.max_content, 10, 10_000_000),
            max_categories=self.integer(d, k, "max_categories", base.max_categories, 0, 1000),
            max_category_length=self.integer(d, k, "max_category_length",
                                             base.max_category_length, 1, 1000),
            max_url=self.integer(d, k, "max_url", base.max_url, 256, 65_536),
            max_author=self.integer(d, k, "max_author", base.max_author, 10, 10_000),
            parse_timeout=self.duration(d, k, "parse_timeout", None) or base.parse_timeout,
            parse_memory=memory)

    def retention(self, data: Any) -> RetentionSettings:
        k = "retention"
        d = self.mapping(data, k, keys(RetentionSettings))
        base = RetentionSettings()
        return RetentionSettings(
            max_age=self.duration(d, k, "max_age", None),
            max_per_category=self.integer(d, k, "max_per_category", base.max_per_category,
                                          1, 1_000_000),
            max_tombstones=self.integer(d, k, "max_tombstones", base.max_tombstones, 0,
                                        10_000_000))

    def allow_hosts(self, d: dict[str, Any]) -> tuple[str, ...]:
        hosts = self.strings(d, "poll", "allow_hosts")
        for i, entry in enumerate(hosts):
            host, colon, port = entry.rpartition(":")
            if colon and (entry.count(":") == 1 or host.endswith("]")):  # "host:port"
                if not (host and port.isdigit() and 0 < int(port) < 65536):
                    self.error(f"poll.allow_hosts[{i}]", f"not a valid host:port: {entry!r}")
            elif "/" in entry:
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    self.error(f"poll.allow_hosts[{i}]", f"not a valid network: {entry!r}")
        return hosts

    def serve(self, data: Any) -> ServeSettings:
        d = self.mapping(data, "serve", keys(ServeSettings))
        return ServeSettings(
            host=self.string(d, "serve", "host", ServeSettings.host) or ServeSettings.host,
            port=self.integer(d, "serve", "port", ServeSettings.port, 0, 65535))

    def categories(self, data: Any) -> tuple[CategorySettings, ...]:
        if data is None:
            return ()
        if not isinstance(data, list):
            self.error("categories", "must be a list")
            return ()
        out: list[CategorySettings] = []
        for i, item in enumerate(data):
            key = f"categories[{i}]"
            d = self.mapping(item, key, keys(CategorySettings), {"id"})
            cid = self.string(d, key, "id") or ""
            if cid and not _SOURCE_ID.match(cid):
                self.error(f"{key}.id", "must match [a-z0-9-]+")
            if cid in {c.id for c in out}:
                self.error(f"{key}.id", f"duplicate category id {cid!r}")
            out.append(CategorySettings(id=cid, labels=self.labels(d.get("labels"), key),
                                        synonyms=self.strings(d, key, "synonyms"),
                                        keywords=self.keywords(d, key),
                                        fallback=self.boolean(d, key, "fallback",
                                                                  CategorySettings.fallback)))
        if sum(c.fallback for c in out) > 1:
            self.error("categories", "only one category can be the fallback")
        return tuple(out)

    def labels(self, data: Any, key: str) -> dict[str, str]:
        if data is None:
            return {}
        if not isinstance(data, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            self.error(f"{key}.labels", "must map language codes to labels")
            return {}
        return dict(data)

    def keywords(self, d: dict[str, Any], key: str) -> tuple[str, ...]:
        patterns = self.strings(d, key, "keywords")
        for i, pattern in enumerate(patterns):
            try:
                compile_keyword(pattern)
            except KeywordError as e:
                self.error(f"{key}.keywords[{i}]", f"regular expression refused: {e}")
        return patterns

    def sources(self, data: Any, category_ids: set[str]) -> tuple[SourceSettings, ...]:
        if not isinstance(data, list):
            self.error("sources", "must be a list of sources")
            return ()
        out: list[SourceSettings] = []
        ids: set[str] = set()
        for i, item in enumerate(data):
            source = self.source(item, f"sources[{i}]", category_ids)
            if source.id in ids:
                self.error(f"sources[{i}].id", f"duplicate source id {source.id!r}")
            ids.add(source.id)
            out.append(source)
        return tuple(out)

    def source(self, data: Any, key: str, category_ids: set[str]) -> SourceSettings:
        d = self.mapping(data, key, keys(SourceSettings), {"id"})
        sid = self.string(d, key, "id") or ""
        if sid and not _SOURCE_ID.match(sid):
            self.error(f"{key}.id", f"must match [a-z0-9-]+ (got {sid!r})")
        kind = d.get("kind", "member")
        if kind not in ("member", "partner"):
            self.error(f"{key}.kind", f"must be member or partner (got {kind!r})")
            kind = "member"
        categories = self.strings(d, key, "categories")
        for j, cid in enumerate(categories):
            if cid not in category_ids:
                self.error(f"{key}.categories[{j}]", f"unknown category id {cid!r}"
                           f"{did_you_mean(str(cid), category_ids)}")
        url, path = self.location(d, key)
        return SourceSettings(
            id=sid, name=self.string(d, key, "name", sid) or sid, kind=kind, url=url, path=path,
            language=self.language(d, key, "language", None), categories=categories,
            category_map=self.category_map(d.get("category_map"), key, category_ids),
            interval=self.duration(d, key, "interval", None),
            enabled=self.boolean(d, key, "enabled", SourceSettings.enabled),
            scrape=self.scrape(d["scrape"], f"{key}.scrape") if "scrape" in d else None,
            keep=self.rules(d, key, "keep"), block=self.rules(d, key, "block"),
            headers=self.headers(d.get("headers"), f"{key}.headers"),
            user_agent=self.header_value(d, key, "user_agent"),
            auth=self.auth(d.get("auth"), f"{key}.auth") if "auth" in d else None,
            silent_after=self.duration(d, key, "silent_after", None))

    def rules(self, d: dict[str, Any], key: str, name: str) -> tuple[str, ...]:
        """Keep or block rules (config/rules.py), each refused with its reason if RE2
        cannot run it."""
        from aggregator.config.rules import split_rule
        found = self.strings(d, key, name) if name in d else ()
        for i, text in enumerate(found):
            try:
                compile_keyword(split_rule(text)[1])
            except KeywordError as e:
                self.error(f"{_join(key, name)}[{i}]", f"regular expression refused: {e}")
        return found

    def top_rules(self, data: Any) -> RulesSettings:
        d = self.mapping(data, "rules", keys(RulesSettings))
        return RulesSettings(keep=self.rules(d, "rules", "keep"),
                             block=self.rules(d, "rules", "block"))

    def headers(self, data: Any, key: str) -> dict[str, str]:
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.error(key, "must map header names to values")
            return {}
        out = {}
        for name, value in data.items():
            if not isinstance(name, str) or not _HEADER_NAME.match(name):
                self.error(key, f"not a header name: {name!r}")
            elif name.lower() in _OWN_HEADERS:
                self.error(f"{key}.{name}", "set by the hub itself (validators, encoding, "
                           "host, length): not configurable")
            elif not isinstance(value, str) or not _header_ok(value):
                self.error(f"{key}.{name}", "must be a string without line breaks or "
                           "control characters")
            else:
                out[name] = value
        return out

    def header_value(self, d: dict[str, Any], key: str, name: str) -> str | None:
        value = self.string(d, key, name)
        if value is not None and not _header_ok(value):
            self.error(_join(key, name), "must hold no line break or control character")
            return None
        return value

    def auth(self, data: Any, key: str) -> AuthSettings | None:
        d = self.mapping(data, key, keys(AuthSettings), {"username"})
        username = self.header_value(d, key, "username") or ""
        if ":" in username:
            self.error(f"{key}.username", "must hold no colon (basic auth)")
        env, file = self.string(d, key, "password_env"), self.string(d, key, "password_file")
        if "password" in (data or {}):
            self.error(f"{key}.password", "never in the config: use password_env (an "
                       "environment variable) or password_file")
        if (env is None) == (file is None):
            self.error(key, "needs exactly one of password_env or password_file")
            return None
        return AuthSettings(username, env, self.base / file if file else None)

    def scrape(self, data: Any, key: str) -> ScrapeSettings | None:
        d = self.mapping(data, key, keys(ScrapeSettings), {"item", "title"})
        selectors = {name: self.selector(d, key, name) for name in (
            "item", "title", "link", "summary", "date", "categories", "meta")}
        pattern = self.pattern(d, key)
        if pattern is not None and selectors["meta"] is None:
            self.error(f"{key}.pattern", "needs meta: the element whose text it reads")
        date_format = self.string(d, key, "date_format", ScrapeSettings.date_format) \
            or ScrapeSettings.date_format
        if date_format not in ("day-first", "month-first") and "%" not in date_format:
            self.error(f"{key}.date_format", "must be day-first, month-first or a strptime "
                       f"format like %d.%m.%Y (got {date_format!r})")
        if not (selectors["item"] and selectors["title"]):
            return None
        return ScrapeSettings(selectors["item"], selectors["title"], selectors["link"],
                              selectors["summary"], selectors["date"], selectors["categories"],
                              selectors["meta"], pattern, date_format)

    def selector(self, d: dict[str, Any], key: str, name: str) -> str | None:
        value = self.string(d, key, name)
        if value is None:
            return None
        try:
            cssselect.GenericTranslator().css_to_xpath(value)
        except cssselect.SelectorError as e:
            self.error(f"{key}.{name}", f"invalid CSS selector {value!r}: {e}")
            return None
        return value

    def pattern(self, d: dict[str, Any], key: str) -> re.Pattern[str] | None:
        value = self.string(d, key, "pattern")
        if value is None:
            return None
        try:
            compiled = re.compile(value)
        except re.error as e:
            self.error(f"{key}.pattern", f"invalid regular expression: {e}")
            return None
        unknown = set(compiled.groupindex) - {"category", "date"}
        if unknown or not compiled.groupindex:
            self.error(f"{key}.pattern", "needs named groups category and/or date (got "
                       f"{', '.join(sorted(compiled.groupindex)) or 'none'})")
            return None
        return compiled

    def location(self, d: dict[str, Any], key: str) -> tuple[str | None, Path | None]:
        if ("url" in d) == ("path" in d):
            self.error(key, "needs exactly one of url or path")
            return None, None
        if "url" in d:
            url = self.string(d, key, "url")
            if url is not None and not _is_http_url(url):
                self.error(f"{key}.url", f"must be an http or https URL without spaces or "
                           f"line breaks (got {url!r})")
            return url, None
        raw = self.string(d, key, "path") or ""
        path = (self.base / raw).resolve()
        if not path.is_relative_to(self.base):
            self.error(f"{key}.path", f"must stay inside the config directory {self.base}")
        return None, path

    def category_map(self, data: Any, key: str, category_ids: set[str]) -> dict[str, str]:
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.error(f"{key}.category_map", "must map category words to category ids")
            return {}
        for word, cid in data.items():
            if not isinstance(word, str) or not word.strip():
                self.error(f"{key}.category_map", f"keys must be category words (got {word!r})")
            elif not isinstance(cid, str) or cid not in category_ids:
                self.error(f"{key}.category_map.{word}", f"unknown category id {cid!r}"
                           f"{did_you_mean(str(cid), category_ids)}")
        return {str(k): str(v) for k, v in data.items()}


def _header_ok(value: str) -> bool:
    return not any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in value)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _is_http_url(url: str) -> bool:
    """An http(s) URL as written: no whitespace or control character anywhere (urllib
    drops CR, LF and tabs silently, and another URL would be fetched)."""
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises on a port that is not one
    except ValueError:  # "http://[::1/feed": an unclosed IPv6 bracket; a port out of range
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
