"""Feed history (RFC 5005): archive pages chain correctly, full pages never change, and
current + archives hold every entry once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import FeedServer, Response, write_config
from support.atomcheck import NS, assert_valid_atom

from aggregator import Aggregator
from aggregator.config import load_settings
from aggregator.store import open_store

FH = "{http://purl.org/syndication/history/1.0}archive"
BASE = "http://127.0.0.1:8080/"


def links(doc: object) -> dict[str, str]:
    return {x.get("rel"): x.get("href") for x in doc.findall("a:link", NS)}  # type: ignore[attr-defined]


def ids(doc: object) -> list[str]:
    return [e.findtext("a:id", namespaces=NS) for e in doc.findall("a:entry", NS)]  # type: ignore[attr-defined]


@pytest.mark.slow  # pages a whole network's history through many publishes
def test_archives(tmp_path: Path, feed_server: FeedServer) -> None:
    now = [datetime(2026, 3, 1, tzinfo=UTC)]
    config = write_config(tmp_path, [{"id": "d", "kind": "member",
                                      "url": feed_server.url("/d")}],
                          output={"dir": "feeds", "entries_per_feed": 3})
    out = tmp_path / "feeds"
    snapshots: dict[str, tuple[int, bytes]] = {}
    with Aggregator(load_settings(config), store=open_store(None), parse_processes=0,
                    clock=lambda: now[0]) as agg:
        for day in range(14):  # two new entries a day: 28 entries, pages of 3
            now[0] += timedelta(days=1)
            items = "".join(
                f"<item><title>Story {i}</title><link>https://d.example/{i}</link>"
                f"<pubDate>{(now[0] - timedelta(hours=i % 2)):%a, %d %b %Y %H:%M:%S} GMT"
                f"</pubDate></item>" for i in (2 * day, 2 * day + 1))
            feed_server.routes["/d"] = Response(200, f'<rss version="2.0"><channel><title>D'
                                                     f"</title>{items}</channel></rss>".encode())
            agg.update()
            agg.publish()
            pages = sorted((out / "archive" / "all").glob("*.atom"),
                           key=lambda p: int(p.stem))
            for page in pages[:-1]:  # every page but the newest is full
                data = (page.stat().st_mtime_ns, page.read_bytes())
                assert snapshots.setdefault(page.name, data) == data, page  # never changes
        stored = {e.entry_id for e in agg.store.entries()}
    assert len(stored) == 28
    current = assert_valid_atom((out / "all.atom").read_bytes())
    assert len(ids(current)) == 3 and current.find(FH) is None
    pages = [assert_valid_atom(p.read_bytes()) for p in
             sorted((out / "archive" / "all").glob("*.atom"), key=lambda p: int(p.stem))]
    assert len(pages) == 9 and len(snapshots) >= 3  # 25 older entries: 8 full pages + 1
    # the chain: current -> newest archive -> ... -> oldest, and back
    assert links(current)["prev-archive"] == f"{BASE}archive/all/9.atom"
    for k, page in enumerate(pages, 1):
        assert page.find(FH) is not None
        rels = links(page)
        assert rels["current"] == f"{BASE}all.atom"
        assert rels["self"] == f"{BASE}archive/all/{k}.atom"
        assert rels.get("prev-archive") == (f"{BASE}archive/all/{k - 1}.atom" if k > 1 else None)
        assert rels.get("next-archive") == (f"{BASE}archive/all/{k + 1}.atom" if k < 9 else None)
        assert page.findtext("a:id", namespaces=NS) == current.findtext("a:id", namespaces=NS)
    everything = ids(current) + [i for page in pages for i in ids(page)]
    assert sorted(everything) == sorted(stored)  # every entry, once
    assert [len(ids(p)) for p in pages] == [3] * 8 + [1]


def test_pages_a_successor_seals_are_left_out() -> None:
    from aggregator.models import StoredEntry
    from aggregator.render import FeedSpec
    from aggregator.render.history import paginate
    when = datetime(2026, 3, 1, tzinfo=UTC)
    entries = [StoredEntry(key=f"k{n}", source_id="s", entry_id=f"k{n}", title=f"t{n}",
                           link=None, canonical_link=None, published=when + timedelta(hours=n),
                           updated=when, first_seen=when + timedelta(hours=n),
                           content_hash=str(n)) for n in range(14)]
    spec = FeedSpec(name="all", title="All", feed_id="tag:x", self_url=f"{BASE}all.atom",
                    alternate_url=BASE, language="en")
    _, every = paginate(spec, entries, 3, BASE)
    assert [p.spec.name for p in every] == [f"archive/all/{k}" for k in (1, 2, 3, 4)]
    on_disk = {f"archive/all/{k}.atom" for k in (1, 2, 3)}  # pages 1 and 2 are sealed

    def sealed(page: str, successor: str) -> bool:
        return page in on_disk and successor in on_disk
    current, kept = paginate(spec, entries, 3, BASE, sealed)
    assert [p.spec.name for p in kept] == ["archive/all/3", "archive/all/4"]
    assert kept == every[2:] and len(current.arrived) == 3  # the same pages, as they were
    on_disk.remove("archive/all/1.atom")  # taken away (left empty by a crash): made again
    _, kept = paginate(spec, entries, 3, BASE, sealed)
    assert [p.spec.name for p in kept] == ["archive/all/1", "archive/all/3", "archive/all/4"]


@pytest.mark.parametrize("count", [0, 1, 3, 7, 9])
def test_chunks_are_the_older_arrivals_cut_when_asked(count: int) -> None:
    from aggregator.render.history import Chunks
    older = list(range(count))
    eager = [older[i:i + 3] for i in range(0, count, 3)]
    chunks = Chunks(older, 3)
    assert len(chunks) == len(eager) and list(chunks) == eager and chunks[:] == eager
    assert [chunks.full(i) for i in range(len(chunks))] == [len(c) == 3 for c in eager]
    if eager:
        assert chunks[-1] == eager[-1] and chunks[1:] == eager[1:]
    with pytest.raises(IndexError):
        chunks[len(eager)]
