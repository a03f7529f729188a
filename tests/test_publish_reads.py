"""Publishing reads only what it renders (publish/reads.py): pages and feeds are laid out
from the store's rows; a small change reads the entries of the pages it changes, whatever
the history; a whole build reads every entry once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import shipped_categories, write_config

from aggregator import Aggregator
from aggregator.config import load_settings
from aggregator.models import FeedMeta, StoredEntry
from aggregator.store import disk

T0 = datetime(2021, 1, 10, 12, 0, tzinfo=UTC)
SOURCES = 12


def entry(source: int, n: int) -> StoredEntry:
    """Source i publishes in month i: a month page, and the newest pages, hold one source."""
    when = T0 + timedelta(days=31 * source, hours=n)
    key = f"s{source}:{n}"
    category = shipped_categories()[source % 3]["id"]
    return StoredEntry(key=key, source_id=f"s{source}", entry_id=key, title=f"Story {key}",
                       link=f"https://s{source}.example/{n}", canonical_link=None,
                       published=when, updated=when, first_seen=when, content_hash=key,
                       summary=f"Summary of {key}", categories=(category,),
                       own_categories=(category,), language="en", story=key,
                       origin=FeedMeta(title=f"Source {source}"))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    sources = [{"id": f"s{i}", "name": f"Source {i}", "kind": "member",
                "url": f"http://127.0.0.1:9/s{i}.xml"} for i in range(SOURCES)]
    path = write_config(tmp_path, sources)
    text = path.read_text().replace("entries_per_feed: 50", "entries_per_feed: 5")
    path.write_text(text)
    with Aggregator(load_settings(path), parse_processes=0) as agg:
        agg.store.apply([entry(i, n) for i in range(SOURCES) for n in range(8)], [])
        agg.publish()
    return path


def shards_read(monkeypatch: pytest.MonkeyPatch, config: Path) -> list[str]:
    folder = disk.shard_dir(load_settings(config).store.path)
    read: list[str] = []
    real, lines = disk.read_bytes, disk.read_lines  # a shard read whole, or a few lines
    monkeypatch.setattr(disk, "read_bytes", lambda p: (
        read.append(p.name) if p.parent == folder else None, real(p))[1])
    monkeypatch.setattr(disk, "read_lines", lambda p, spans: (
        read.append(p.name) if p.parent == folder else None, lines(p, spans))[1])
    return read


def test_a_change_to_the_newest_story_reads_only_its_source(
        config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    read = shards_read(monkeypatch, config)
    with Aggregator(load_settings(config), parse_processes=0) as agg:  # a new process
        changed = replace(entry(SOURCES - 1, 7), title="Story retold", content_hash="new")
        agg.store.apply([changed], [])
        written = agg.publish()
    assert read == [f"s{SOURCES - 1}.json"]  # not the 11 other sources' entries
    out = load_settings(config).output.dir
    assert "Story retold" in (out / "index.html").read_text()
    assert "Story retold" in (out / "all.atom").read_text()
    assert len(written) > 10  # feeds, rivers, month pages, search: all from one shard


def test_a_whole_build_reads_every_shard_once(config: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    read = shards_read(monkeypatch, config)
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.publish(full=True)
    assert sorted(read) == sorted(f"s{i}.json" for i in range(SOURCES))


def test_a_whole_build_past_what_it_keeps_holds_no_more_and_writes_the_same(
        config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bigger store's whole build reads page by page, river by river and month part by
    month part, keeping at most KEEP_READ entries read: the same bytes as one that holds
    every entry."""
    from aggregator.publish import feeds, reads

    out = load_settings(config).output.dir

    def pages_gone() -> None:  # every page rendered again, sealed archive pages too
        for page in [*out.rglob("*.html"), *out.rglob("*.atom")]:
            page.unlink()

    pages_gone()
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.publish(full=True)  # every entry held: KEEP_READ is more than 96
    whole = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*"))
             if p.is_file() and "pagefind" not in p.parts}
    held: list[int] = []
    fetched: list[str] = []
    store_type = type(agg.store)
    real_call, real_fetch = reads.Reads.__call__, store_type.fetch

    def call(self: reads.Reads, rows: list) -> list:  # type: ignore[type-arg]
        found = real_call(self, rows)
        held.append(len(self.read))
        return found

    def fetch(self: object, rows: list, once: bool = False) -> list:  # type: ignore[type-arg]
        fetched.extend(r.key for r in rows)
        return real_fetch(self, rows, once)  # type: ignore[arg-type]

    monkeypatch.setattr(feeds, "KEEP_READ", 10)
    monkeypatch.setattr(reads.Reads, "__call__", call)
    monkeypatch.setattr(store_type, "fetch", fetch)
    pages_gone()
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.publish(full=True)
    again = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*"))
             if p.is_file() and "pagefind" not in p.parts}
    assert again == whole
    assert held and max(held) <= 10
    assert len(set(fetched)) == SOURCES * 8  # every entry read
    # an entry is on 12 pages (four feeds, three rivers and a month in two trees): read
    # no more often than that, though 10 entries are fewer than two trees' pages hold
    assert len(fetched) <= SOURCES * 8 * 12


def test_every_listing_is_cut_by_category_and_language_in_arrival_order() -> None:
    """Reads.listed against the rule it implements: a listing holds the shown rows (copies
    left out) that name its category (None: any) in its language (None: any; a row with no
    language is in the hub's; a tag counts by its primary language), by arrival."""
    from aggregator.config.taxonomy import primary_language
    from aggregator.publish.reads import Reads
    from aggregator.store.memory import MemoryStore
    from aggregator.store.rows import Row

    kinds = [(("a",), "en"), (("a", "b"), "fr"), ((), None), (("b", "b"), "en-GB"),
             (("c",), "pt-BR"), (("a",), None), (("c", "a"), "fr-CA")]
    entries = []
    for n in range(60):
        categories, language = kinds[n * 5 % len(kinds)]
        when = T0 + timedelta(hours=n % 9)
        e = replace(entry(n % 4, n), key=f"k{n:02d}", categories=categories,
                    language=language, published=when, updated=when,
                    first_seen=T0 + timedelta(days=n % 5))  # arrivals out of date order
        entries.append(replace(e, duplicate_of="k00") if n % 11 == 3 else e)
    store = MemoryStore()
    store.apply(entries, [])
    reads = Reads(store)
    rows = sorted((Row.of(e) for e in entries),
                  key=lambda r: (r.first_seen, r.published, r.key))
    shown = [r for r in rows if r.duplicate_of is None]
    assert [r.key for r in reads.listing()] == [r.key for r in rows]
    assert [r.key for r in reads.shown()] == [r.key for r in shown]
    for c in (None, "a", "b", "c", "d"):
        for lang in (None, "en", "fr", "pt", "es"):
            expected = [r.key for r in shown if (c is None or c in r.categories) and (
                lang is None or primary_language(r.language or "es") == lang)]
            assert [r.key for r in reads.listed(c, lang, "es")] == expected, (c, lang)
    assert reads.listed("b", "en", "es")  # the rule is not met by empty listings alone


def test_a_bounded_read_shared_by_two_threads_never_loses_an_entry() -> None:
    """The search index reads beside the pages through one Reads: what one thread reads may
    push out entries the other has just found held. Every answer still holds every entry
    asked for (an entry lost there was left out of a feed, and the memo kept it so)."""
    import threading
    import time

    from aggregator.publish.reads import Reads
    from aggregator.store.memory import MemoryStore
    from aggregator.store.rows import Row

    class OnDisk(MemoryStore):
        def fetch(self, rows: Sequence[Row], once: bool = False) -> list[StoredEntry]:
            time.sleep(0.0002)  # as a read from disk does, another thread runs meanwhile
            return super().fetch(rows, once)

    entries = [replace(entry(n % 6, n), key=f"k{n:03d}") for n in range(300)]
    store = OnDisk()
    store.apply(entries, [])
    rows = [Row.of(e) for e in entries]
    reads = Reads(store, keep=8)
    short: list[tuple[int, int]] = []

    def ask(start: int, step: int) -> None:
        for k in range(400):
            wanted = rows[(start + k * step) % 290:][:10]
            got = reads(wanted)
            if [e.key for e in got] != [r.key for r in wanted]:
                short.append((len(got), len(wanted)))

    threads = [threading.Thread(target=ask, args=(n * 37, 7 + n)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert short == []
    assert len(reads.read) <= 8
