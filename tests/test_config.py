"""config.yaml validation: each rejection names the key path and the line."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import ROOT

from aggregator.config import load_settings, parse_duration, parse_size
from aggregator.errors import ConfigError

GOOD = """\
hub:
  title: "Hub"
  base_url: "http://127.0.0.1:8080/"
categories:
  - id: resilience
    labels: {en: Resilience}
sources:
  - id: one
    name: "One"
    url: "https://example.org/feed.xml"
    kind: member
    categories: [resilience]
"""


def load(tmp_path: Path, text: str) -> ConfigError:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    return info.value


def test_shipped_config_is_valid() -> None:
    settings = load_settings(ROOT / "config.yaml")
    assert len(settings.sources) >= 6
    assert {s.kind for s in settings.sources} == {"member", "partner"}
    assert all(s.path and s.path.is_file() for s in settings.sources)
    assert settings.poll.max_bytes == 10 * 2**20
    assert settings.store.path == ROOT / "data" / "store.json"


def test_good_config(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(GOOD, encoding="utf-8")
    s = load_settings(path)
    assert s.sources[0].url == "https://example.org/feed.xml"
    assert s.poll.interval == timedelta(hours=1) and s.output.dir == tmp_path / "feeds"
    assert s.hub.id == "http://127.0.0.1:8080/"


@pytest.mark.parametrize(("old", "new", "key", "line", "words"), [
    ("    kind: member\n", "    kind: member\n    colour: blue\n", "sources[0].colour", 12,
     "unknown key"),
    ("hub:\n", "hub:\n  titel: x\n", "hub.titel", 2, "unknown key"),
    ("sources:", "poll:\n  interval: soon\nsources:", "poll.interval", 8, "duration"),
    ("sources:", "poll:\n  timeout: 5 minutes\nsources:", "poll.timeout", 8, "duration"),
    ("sources:", "poll:\n  max_bytes: lots\nsources:", "poll.max_bytes", 8, "size"),
    ("    kind: member\n", "    kind: member\n    interval: 0s\n", "sources[0].interval", 12,
     "longer than zero"),
    ("    categories: [resilience]\n",
     "    categories: [resilience]\n  - id: one\n    url: https://example.org/b.xml\n",
     "sources[1].id", 13, "duplicate source id 'one'"),
    ("categories: [resilience]", "categories: [resilience, sport]",
     "sources[0].categories[1]", 12, "unknown category id 'sport'"),
    ("    kind: member\n", "    kind: member\n    category_map: {Sports: sport}\n",
     "sources[0].category_map.Sports", 12, "unknown category id 'sport'"),
    ('url: "https://example.org/feed.xml"', 'url: "ftp://example.org/feed.xml"',
     "sources[0].url", 10, "http or https"),
    ('url: "https://example.org/feed.xml"', 'url: "file:///etc/passwd"',
     "sources[0].url", 10, "http or https"),
    ('url: "https://example.org/feed.xml"', 'path: "../outside.xml"',
     "sources[0].path", 10, "inside the config directory"),
    ('url: "https://example.org/feed.xml"', 'path: "/etc/passwd"',
     "sources[0].path", 10, "inside the config directory"),
    ("    kind: member\n", "    kind: sponsor\n", "sources[0].kind", 11, "member or partner"),
    ("  - id: one\n", "  - id: One Two\n", "sources[0].id", 8, "[a-z0-9-]+"),
    ('base_url: "http://127.0.0.1:8080/"', 'base_url: "127.0.0.1"', "hub.base_url", 3,
     "http or https"),
    ("sources:", "poll:\n  workers: 0\nsources:", "poll.workers", 8, "integer from 1"),
    ("sources:", "poll:\n  allow_private_networks: maybe\nsources:",
     "poll.allow_private_networks", 8, "true or false"),
    ('url: "https://example.org/feed.xml"', 'url: "http://[::1/feed"',
     "sources[0].url", 10, "http or https"),
    ('url: "https://example.org/feed.xml"', 'url: "http://example.org:99999/feed"',
     "sources[0].url", 10, "http or https"),
    ("    kind: member\n", "    kind: member\n    interval: 9999999999d\n",
     "sources[0].interval", 12, "at most 3650d"),
    ("    kind: member\n", "    kind: member\n    category_map: {1: resilience}\n",
     "sources[0].category_map", 12, "keys must be category words (got 1)"),
])
def test_rejections_name_the_key(tmp_path: Path, old: str, new: str, key: str, line: int,
                                 words: str) -> None:
    assert old in GOOD
    error = load(tmp_path, GOOD.replace(old, new, 1))
    matching = [e for e in error.errors if f": {key}: " in e]
    assert matching, error.errors
    assert words in matching[0]
    assert f"config.yaml:{line}: " in matching[0]


@pytest.mark.parametrize(("text", "message"), [
    ("hub:\n  title: a\n  title: b\n", "config.yaml:3: invalid YAML: duplicate key 'title'"),
    ("x: " + "[" * 100 + "]" * 100 + "\n",
     "config.yaml:1: invalid YAML: nested deeper than 64 levels"),
    ('a0: &a0 ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 9)),
     "config.yaml:1: invalid YAML: more than 1000000 values once aliases are expanded"),
])
def test_hostile_yaml_is_refused_at_its_line(tmp_path: Path, text: str, message: str) -> None:
    error = load(tmp_path, text)
    assert error.errors == [f"{tmp_path / 'config.yaml'}:{message.split(':', 1)[1]}"]


def test_very_deep_yaml_is_refused_by_whichever_parser_reads_it(tmp_path: Path) -> None:
    error = load(tmp_path, "x: " + "[" * 100_000 + "]" * 100_000 + "\n")  # libyaml stops first
    [message] = error.errors
    assert re.search(r"config.yaml:1: invalid YAML: (nested deeper than 64 levels|exceeded "
                     r"maximum nesting depth)", message), message


def test_bad_keyword_regex(tmp_path: Path) -> None:
    error = load(tmp_path, GOOD.replace("labels: {en: Resilience}",
                                        "labels: {en: Resilience}\n    keywords: ['(unclosed']"))
    assert any("categories[0].keywords[0]: regular expression refused" in e for e in error.errors)


@pytest.mark.parametrize("pattern", ["(?=flood)", "(a)\\1", "(?<!x)y"])
def test_keyword_rules_re2_cannot_run_are_refused_with_the_reason(tmp_path: Path,
                                                                 pattern: str) -> None:
    error = load(tmp_path, GOOD.replace("labels: {en: Resilience}",
                                        f"labels: {{en: Resilience}}\n    keywords: ['{pattern}']"))
    [message] = [e for e in error.errors if "keywords[0]" in e]
    assert "regular expression refused" in message and "no lookaround" in message


def test_a_backtracking_keyword_rule_cannot_hang_a_poll() -> None:
    import time

    from aggregator.config import CategorySettings, SourceSettings
    from aggregator.config.taxonomy import Taxonomy
    from aggregator.models import EntryData

    taxonomy = Taxonomy([CategorySettings("a", {"en": "A"}, keywords=("(a+)+$",)),
                         CategorySettings("energy", {"en": "Energy"},
                                          keywords=("\\bénergie\\b", "\\bflood(s|ing)?\\b"))])
    source = SourceSettings(id="s", name="S", kind="member", url="https://s.example/")
    start = time.monotonic()
    found = taxonomy.classify(EntryData(None, None, "a" * 34 + "!"), source)
    took = time.monotonic() - start
    assert took < 1 and found == (taxonomy.fallback,)
    assert taxonomy.classify(EntryData(None, None, "La Énergie verte"), source) == ("energy",)
    assert taxonomy.classify(EntryData(None, None, "laénergie"), source) != ("energy",)
    assert taxonomy.classify(EntryData(None, None, "Floods, again"), source) == ("energy",)
    assert taxonomy.classify(EntryData(None, None, "floodgate"), source) != ("energy",)


def test_all_errors_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("kind: member", "kind: sponsor").replace("hub:\n", "hub:\n  x: 1\n")
    assert len(load(tmp_path, text).errors) == 2


def test_missing_required_sections(tmp_path: Path) -> None:
    error = load(tmp_path, "store: {path: s.json}\n")
    assert any(": hub: is required" in e for e in error.errors)
    assert any(": sources: is required" in e for e in error.errors)


def test_source_needs_url_or_path(tmp_path: Path) -> None:
    error = load(tmp_path, GOOD.replace('    url: "https://example.org/feed.xml"\n', ""))
    assert any("sources[0]: needs exactly one of url or path" in e for e in error.errors)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    error = load(tmp_path, GOOD.replace("kind: member", "kind: [member"))
    assert "config.yaml:" in str(error) and "invalid YAML" in str(error)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.yaml")


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("2h", 7200),
                                               ("1d", 86400), ("1.5h", 5400)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize(("text", "size"), [("10MiB", 10 * 2**20), ("512KiB", 512 * 1024),
                                            ("1000", 1000), ("2MB", 2_000_000)])
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_an_alias_inside_its_own_value_is_an_error_with_its_line(tmp_path: Path) -> None:
    error = load(tmp_path, GOOD + "x: &r [1, *r]\n")
    [message] = error.errors
    assert re.search(r"config.yaml:\d+: invalid YAML: an alias refers to the value that "
                     r"contains it", message), message


def test_output_dir_on_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "feeds").write_text("not a directory")
    error = load(tmp_path, GOOD + "output:\n  dir: feeds/site\n")
    [message] = [e for e in error.errors if "output.dir" in e]
    assert "is a file, not a directory" in message and "config.yaml:14: output.dir" in message


@pytest.mark.parametrize("special", ["fifo", "device", "huge"])
def test_a_config_that_is_no_regular_file_or_huge_is_refused_at_once(
        tmp_path: Path, special: str) -> None:
    import os
    import time
    path = tmp_path / "config.yaml"
    if special == "fifo":
        os.mkfifo(path)  # nobody writes: reading it would wait for ever
    elif special == "device":
        path = Path("/dev/zero")
    else:
        with open(path, "wb") as f:
            f.truncate(2 * 2**30)  # 2 GB, sparse
    start = time.monotonic()
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert time.monotonic() - start < 5
    expected = "larger than 32 MiB" if special == "huge" else "not a regular file"
    assert expected in str(info.value)


@pytest.mark.parametrize("size", ["0", "512", "2GiB"])
def test_max_bytes_out_of_range_is_refused(tmp_path: Path, size: str) -> None:
    error = load(tmp_path, GOOD + f"poll:\n  max_bytes: {size}\n")
    [message] = error.errors
    assert "poll.max_bytes" in message and "between 1KiB and 1GiB" in message


@pytest.mark.parametrize("url", ['"https://example.org/a feed.xml"',
                                 '"https://example.org/feed.xml\\r\\nHost: evil"',
                                 '"https://exa\\tmple.org/feed.xml"'])
def test_a_url_with_spaces_or_line_breaks_is_refused(tmp_path: Path, url: str) -> None:
    error = load(tmp_path, GOOD.replace('"https://example.org/feed.xml"', url))
    [message] = error.errors
    assert re.search(r"config.yaml:\d+: sources\[0\]\.url: must be an http or https URL "
                     r"without spaces or line breaks", message), message
