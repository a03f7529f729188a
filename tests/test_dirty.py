"""Publishing what changed: the store's dirty markers, and the outputs they touch."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import FeedServer, Response, dead_pid, http_sources, write_config

from aggregator import Aggregator
from aggregator.config import load_settings
from aggregator.models import Dirty, FeedMeta, StoredEntry
from aggregator.store import Store, open_store

T0 = datetime(2021, 6, 1, 12, 0, tzinfo=UTC)


def entry(key: str, source: str, categories: tuple[str, ...], language: str | None
          ) -> StoredEntry:
    return StoredEntry(key=key, source_id=source, entry_id=key, title=key, link=None,
                       canonical_link=None, published=T0, updated=T0, first_seen=T0,
                       content_hash=key, categories=categories, own_categories=categories,
                       language=language, story=key, origin=FeedMeta(title="o"))


def test_contract_dirty_markers_cover_before_and_after(store: Store) -> None:
    store.apply([entry("a:1", "a", ("x",), "fr"), entry("b:1", "b", ("y",), None)], [])
    june = frozenset({f"2021-06@{T0.isoformat()}"})  # entry()'s month, from its arrival
    assert store.dirty() == Dirty(frozenset({"x", "y"}), frozenset({"fr", ""}),
                                  frozenset({"a", "b"}), june)
    store.clear_dirty(store.dirty())
    assert not store.dirty()
    store.apply([entry("a:1", "a", ("z",), "es")], [])  # moved to another category
    seen = store.dirty()
    assert seen == Dirty(frozenset({"x", "z"}), frozenset({"fr", "es"}), frozenset({"a"}),
                         june)
    store.apply([], [], removed=["b:1"])  # what arrives before publishing finishes stays
    store.clear_dirty(seen)
    # b:1's month was in what was published: not told apart, so every month is marked
    assert store.dirty() == Dirty(frozenset({"y"}), frozenset({""}), frozenset({"b"}), None)


def test_dirty_markers_survive_a_restart(tmp_path: Path) -> None:
    s = open_store(tmp_path / "store.json")
    s.apply([entry("a:1", "a", ("x",), "fr")], [])
    s.close()  # stored, never published: a crash before the publish
    again = open_store(tmp_path / "store.json")
    try:
        assert again.dirty() == Dirty(frozenset({"x"}), frozenset({"fr"}), frozenset({"a"}),
                                      frozenset({f"2021-06@{T0.isoformat()}"}))
    finally:
        again.close()


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from aggregator.publish import feeds as publish
    names: list[str] = []
    real = publish.render_atom
    monkeypatch.setattr(publish, "render_atom", lambda spec, *a, **k: (
        names.append(spec.name), real(spec, *a, **k))[1])
    return names


def test_one_source_changed_renders_only_the_feeds_it_touches(
        tmp_path: Path, feed_server: FeedServer, rendered: list[str]) -> None:
    config = write_config(tmp_path, http_sources(feed_server))
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.update()
        agg.publish()
        everything = set(rendered)
        rendered.clear()
        route = feed_server.routes["/durban-member-rss1.xml"]
        feed_server.routes["/durban-member-rss1.xml"] = Response(200, route.body.replace(
            b"Three new Go!Durban", b"Four new Go!Durban"), {"ETag": '"v2"'})
        agg.update(["durban"])
        [changed] = [e for e in agg.entries(source_id="durban")
                     if e.title.startswith("Four new")]
        agg.publish()
    lang = (changed.language or "en")[:2]
    expected = {"all", f"{lang}/all", *changed.categories,
                *(f"{lang}/{c}" for c in changed.categories)}
    assert {n for n in rendered if "archive" not in n} == expected
    assert len(everything) > 3 * len(expected)


def test_a_new_process_with_nothing_new_renders_nothing(
        tmp_path: Path, feed_server: FeedServer, rendered: list[str]) -> None:
    config = write_config(tmp_path, http_sources(feed_server))
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.update()
        agg.publish()
    rendered.clear()
    day = datetime.now(UTC).date()
    with Aggregator(load_settings(config), parse_processes=0) as agg:  # `aggregator poll`
        agg.update()  # every source answers 304
        changed = agg.publish()
    assert rendered == [] and {p.name for p in changed} <= {"sources.html", "status.json"}
    if datetime.now(UTC).date() == day:  # the sources page shows the day of each success
        assert "sources.html" not in {p.name for p in changed}
    settings = load_settings(config)
    retitled = replace(settings, hub=replace(settings.hub, title="Another hub"))
    with Aggregator(retitled, parse_processes=0) as agg:  # a changed config: all again
        agg.publish()
    assert "all" in rendered and len(rendered) > 20


def test_a_cycle_of_304s_reads_no_entry(tmp_path: Path, feed_server: FeedServer,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from aggregator.store import disk
    config = write_config(tmp_path, http_sources(feed_server))
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.update()
        agg.publish()
    reads: list[Path] = []
    real, lines = disk.read_bytes, disk.read_lines  # a shard read whole, or a few lines
    monkeypatch.setattr(disk, "read_bytes", lambda p: (reads.append(p), real(p))[1])
    monkeypatch.setattr(disk, "read_lines", lambda p, spans: (reads.append(p),
                                                              lines(p, spans))[1])
    with Aggregator(load_settings(config), parse_processes=0) as agg:  # `aggregator poll`
        report = agg.update()
        agg.publish()
    assert {r.outcome for r in report.results} == {"not_modified"}
    # no entry read, nor any row: not for retention, not for publishing
    assert [p for p in reads if p.parent.name.endswith((".shards", ".rows"))] == []
    shards = disk.shard_dir(load_settings(config).store.path)
    assert any(shards.iterdir())  # the first cycle stored entries: there were some to read


def test_health_pages_taken_away_or_left_empty_by_a_crash_are_written_again(
        tmp_path: Path, feed_server: FeedServer) -> None:
    """A quiet publish trusts its memo for pages whose folder lists them; a page removed by
    hand is not listed, and a page a killed writer left empty comes with that writer's
    mark, which makes the next start drop the memo."""
    from aggregator.files import WRITERS
    config = write_config(tmp_path, http_sources(feed_server))
    out = load_settings(config).output.dir
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.update()
        agg.publish()
    member, source = out / "en" / "members" / "durban.html", out / "en" / "source" / "durban.html"
    whole = member.read_bytes()
    member.unlink()
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.update()  # 304s: nothing new
        changed = agg.publish()
    assert member.read_bytes() == whole and "durban.html" in {p.name for p in changed}
    member.write_bytes(b"")  # written, never synced: a power cut after the rename
    source.write_bytes(b"")
    (out / WRITERS / str(dead_pid())).write_bytes(b"")  # its writer's mark stays
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.update()
        agg.publish()
    assert member.read_bytes() == whole and source.stat().st_size > 0
    assert list((out / WRITERS).iterdir()) == []
