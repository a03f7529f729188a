"""Undated entries on a first poll take their place in the feed, not the top of the river."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import write_config

from aggregator import Aggregator
from aggregator.config import load_settings

NOW = datetime(2021, 7, 1, 12, 0, tzinfo=UTC)


def rss(items: list[tuple[str, str | None]]) -> bytes:
    body = "".join(f"<item><title>{t}</title><guid>{t}</guid>"
                   + (f"<pubDate>{d}</pubDate>" if d else "") + "</item>" for t, d in items)
    return (f'<rss version="2.0"><channel><title>t</title><link>https://m.example/</link>'
            f"{body}</channel></rss>").encode()


def poll(tmp: Path, body: bytes, now: datetime) -> dict[str, datetime]:
    (tmp / "feed.xml").write_bytes(body)
    config = write_config(tmp, [{"id": "member", "name": "M", "path": "feed.xml",
                                 "kind": "member", "language": "en"}])
    with Aggregator(load_settings(config), clock=lambda: now, parse_processes=0) as agg:
        agg.update()
        return {e.title: e.published for e in agg.store.entries()}


def test_undated_entries_sit_between_their_dated_neighbours(tmp_path: Path) -> None:
    feed = [("top", None), ("ten", "Thu, 10 Jun 2021 08:00:00 GMT"), ("b", None), ("c", None),
            ("one", "Tue, 01 Jun 2021 08:00:00 GMT"), ("bottom", None)]
    got = poll(tmp_path, rss(feed), NOW)
    ten, one = datetime(2021, 6, 10, 8, tzinfo=UTC), datetime(2021, 6, 1, 8, tzinfo=UTC)
    assert got["ten"] == ten and got["one"] == one
    assert ten < got["top"] < NOW  # just above its neighbour, not "now"
    assert ten > got["b"] > got["c"] > one  # document order kept between the neighbours
    assert got["bottom"] < one
    order = [t for t, _ in sorted(got.items(), key=lambda x: x[1], reverse=True)]
    assert order == ["top", "ten", "b", "c", "one", "bottom"]
    # a later poll: a new undated entry is genuinely new and takes first-seen
    later = NOW + timedelta(hours=5)
    again = poll(tmp_path, rss([("fresh", None), *feed]), later)
    assert again["fresh"] == later
    assert {k: v for k, v in again.items() if k != "fresh"} == got  # nothing moved


def test_a_feed_without_dates_keeps_its_order(tmp_path: Path) -> None:
    got = poll(tmp_path, rss([("first", None), ("second", None), ("third", None)]), NOW)
    assert got["first"] == NOW and got["first"] > got["second"] > got["third"]


def test_oldest_first_feeds_are_read_in_their_order(tmp_path: Path) -> None:
    feed = [("old", "Tue, 01 Jun 2021 08:00:00 GMT"), ("mid", None),
            ("new", "Thu, 10 Jun 2021 08:00:00 GMT"), ("after", None)]
    got = poll(tmp_path, rss(feed), NOW)
    assert got["old"] < got["mid"] < got["new"] < got["after"] <= NOW
