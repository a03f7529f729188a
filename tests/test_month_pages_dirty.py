"""A small publish looks at the month pages of the months that changed (the store's dirty
marks name them) and the ones beside them, and the outputs are what a whole build makes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import shipped_categories, write_config

from aggregator import Aggregator
from aggregator.config import load_settings
from aggregator.models import Dirty, FeedMeta, StoredEntry, changed_since, month_marks
from aggregator.publish import memo
from aggregator.store import open_store

T0 = datetime(2021, 1, 10, 12, 0, tzinfo=UTC)


def entry(n: int, month: int, arrived: int) -> StoredEntry:
    when = T0.replace(month=month) + timedelta(hours=n)
    key = f"s0:{n}"
    category = shipped_categories()[n % 2]["id"]
    return StoredEntry(key=key, source_id="s0", entry_id=key, title=f"Story {n}",
                       link=f"https://s.example/{n}", canonical_link=None, published=when,
                       updated=when, first_seen=T0 + timedelta(days=300 + arrived),
                       content_hash=key, summary=f"<p>Story {n}</p>",
                       categories=(category,), own_categories=(category,), language="en",
                       story=key, origin=FeedMeta(title="S"))


def month_pages(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("month/*.html")}


Step = tuple[list[StoredEntry], list[str], set[str]]  # written, removed, months looked at


def publish_steps(config: Path, first: list[StoredEntry], steps: list[Step],
                  looked_at: list[str]) -> None:
    """Store ``first`` and publish; then each step: the root tree's month pages a small
    publish looked at are the expected ones, and its pages are what a whole build makes."""
    out = load_settings(config).output.dir
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.store.apply(first, [])
        agg.publish()
        for written, removed, expected in steps:
            looked_at.clear()
            agg.store.apply(written, [], removed=removed)
            agg.publish()
            assert {name.removeprefix("month/").removesuffix(".html") for name in looked_at
                    if name.startswith("month/")} == expected  # the root tree's
            small = month_pages(out)
            agg.publish(full=True)
            assert month_pages(out) == small  # the small publish's pages are the whole's


@pytest.fixture
def looked_at(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The month pages whose entries a publish looked at (digested, then rendered when
    they moved)."""
    names: list[str] = []
    real = memo.Memo.__call__

    def watched(self: memo.Memo, name: str, key: object) -> bool:
        if key is not memo.UNCHANGED and "month/" in name:
            names.append(name)
        return real(self, name, key)
    monkeypatch.setattr(memo.Memo, "__call__", watched)
    return names


def test_month_pages_follow_the_changed_months_and_match_a_whole_build(
        tmp_path: Path, looked_at: list[str]) -> None:
    config = write_config(tmp_path, [{"id": "s0", "name": "Source", "kind": "member",
                                      "url": "http://127.0.0.1:9/s.xml"}])
    months = [1, 2, 3, 4, 5, 6, 7]
    first = [entry(n, m, n) for n, m in enumerate(months)]
    steps: list[tuple[list[StoredEntry], list[str], set[str]]] = [
        # an entry in March: March and the months beside it
        ([entry(20, 3, 20)], [], {"2021-02", "2021-03", "2021-04"}),
        # a new newest month: August, and July whose "newer" link now leads to it
        ([entry(21, 8, 21)], [], {"2021-07", "2021-08"}),
        # May emptied: April and June, side by side now
        ([], ["s0:4"], {"2021-04", "2021-06"}),
        # a story retold (same key, new text) in January: January and February
        ([entry(0, 1, 30).__class__(**{**entry(0, 1, 30).__dict__,
                                       "summary": "<p>Retold</p>", "content_hash": "v2"})],
         [], {"2021-01", "2021-02"}),
    ]
    publish_steps(config, first, steps, looked_at)


def test_marks_an_older_version_kept_name_every_month(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.json")
    marks = Dirty.kept(["resilience"], ["en"], ["s0"], [])
    assert marks.months is None  # not noted: every month may have changed
    assert Dirty.kept([], [], [], []) == Dirty()
    assert (marks | Dirty(months=frozenset({"2021-01"}))).months is None
    assert (marks - marks).months == frozenset()
    store.apply([entry(1, 3, 1)], [])
    mark = "2021-03@" + entry(1, 3, 1).first_seen.isoformat()  # from its arrival on
    assert store.dirty().months == frozenset({mark})
    store.close()
    again = open_store(tmp_path / "store.json")
    assert again.dirty().months == frozenset({mark})  # kept with the other marks
    again.close()


def test_a_months_marks_keep_its_earliest_arrival() -> None:
    early, late = datetime(2021, 5, 1, tzinfo=UTC), datetime(2021, 6, 1, tzinfo=UTC)
    marks = month_marks([(T0.replace(month=3), late), (T0.replace(month=3, day=2), early),
                         (T0.replace(month=4), late)])
    assert marks == {f"2021-03@{early.isoformat()}", f"2021-04@{late.isoformat()}"}
    joined = Dirty(months=marks) | Dirty(months=frozenset({f"2021-04@{early.isoformat()}"}))
    assert joined.months == {f"2021-03@{early.isoformat()}", f"2021-04@{early.isoformat()}"}
    assert changed_since(joined.months) == {"2021-03": early, "2021-04": early}
    # a bare month (an older version's mark) or one not read: the whole month
    assert changed_since({"2021-03", f"2021-03@{late.isoformat()}", "2021-04@soon"}) == {
        "2021-03": None, "2021-04": None}
    assert (Dirty(months=marks) | Dirty(months=frozenset({"2021-03"}))).months == {
        "2021-03", f"2021-04@{late.isoformat()}"}


def test_a_busy_months_parts_before_the_earliest_change_are_not_looked_at(
        tmp_path: Path, looked_at: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts are cut by arrival: a change that arrived late moves only the parts from the
    one holding it on (and the part before a new one, whose link changes); the pages are
    still a whole build's."""
    from aggregator.render.site import layout
    monkeypatch.setattr(layout, "MONTH_PAGE", 2)
    config = write_config(tmp_path, [{"id": "s0", "name": "Source", "kind": "member",
                                      "url": "http://127.0.0.1:9/s.xml"}])
    march = [entry(n, 3, n) for n in range(7)]  # parts 1-4: arrivals 0-1, 2-3, 4-5, 6
    retold = entry(3, 3, 3)
    steps: list[tuple[list[StoredEntry], list[str], set[str]]] = [
        ([entry(10, 3, 10)], [], {"2021-03-p4"}),  # joins the last part
        ([entry(11, 3, 11)], [], {"2021-03-p4", "2021-03-p5"}),  # a new part: its link
        ([retold.__class__(**{**retold.__dict__, "content_hash": "v2",
                              "summary": "<p>Retold</p>"})], [],
         {"2021-03-p2", "2021-03-p3", "2021-03-p4", "2021-03-p5"}),
        ([], ["s0:4"], {"2021-03-p2", "2021-03-p3", "2021-03-p4"}),  # the rest move up
    ]
    publish_steps(config, [*march, entry(20, 2, 0), entry(21, 4, 0)],
                  [(w, r, e | {"2021-02", "2021-04"}) for w, r, e in steps], looked_at)
