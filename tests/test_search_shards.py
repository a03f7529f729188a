"""The search index is cut into shards by month, and a busy month by arrival: a new story
joins the last part of its month, so the other parts keep their stories (and their
digests: they are not indexed again)."""

from __future__ import annotations

import pytest

from aggregator.publish import search
from aggregator.publish.search import Record, placement_digest, shard_of


def record(n: int, month: str = "2026-03", arrived: int | None = None) -> Record:
    at = n if arrived is None else arrived
    return Record(url=f"month/{month}.html#e-{n}", title=f"Story {n}", content="text",
                  date=f"{month}-{1 + n % 28:02d}", filters={"source": ["s"]},
                  arrived=f"2026-04-01T00:{at // 60:02d}:{at % 60:02d}+00:00",
                  key=f"s:{n}", text_hash=f"h{n}")


def digests(shards: dict[str, list[Record]]) -> dict[str, str]:
    return {sid: placement_digest(group, "en") for sid, group in shards.items()}


def test_a_busy_month_is_cut_by_arrival_latest_part_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "SHARD_SIZE", 10)
    found = [record(n) for n in reversed(range(25))] + [record(100, "2026-02")]
    shards = shard_of(found)
    assert list(shards) == ["2026-03-p3", "2026-03-p2", "2026-03-p1", "2026-02-p1"]
    assert [len(group) for group in shards.values()] == [5, 10, 10, 1]
    assert [r.title for r in shards["2026-03-p1"]] == [f"Story {n}" for n in range(10)]


def test_new_stories_change_only_the_last_part_of_their_month(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "SHARD_SIZE", 10)
    before = [record(n) for n in range(25)]
    late = [record(n, arrived=1000 + n) for n in range(25, 28)]  # published in the middle
    old, new = digests(shard_of(before)), digests(shard_of(before + late))
    changed = {sid for sid in new if old.get(sid) != new[sid]}
    assert changed == {"2026-03-p3"}


def test_a_retold_story_changes_only_its_shards_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    """Digests are taken without reading the stories: a title or text changed shows in the
    entry's content hash, so its shard (and only it) is indexed again."""
    from dataclasses import replace
    monkeypatch.setattr(search, "SHARD_SIZE", 10)
    before = [record(n) for n in range(25)]
    after = [replace(r, text_hash="retold") if r.key == "s:3" else r for r in before]
    old, new = digests(shard_of(before)), digests(shard_of(after))
    assert {sid for sid in new if old[sid] != new[sid]} == {"2026-03-p1"}


def test_shards_made_one_at_a_time_are_the_shards_of_every_record(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """publish_search takes the shards from placed_shards, a shard's records at a time: the
    same shards, records, order and digests as shard_of(placed(...)), in every tree's
    places."""
    from dataclasses import replace
    from datetime import UTC, datetime, timedelta

    from test_store import entry

    from aggregator.config.model import CategorySettings
    from aggregator.config.taxonomy import Taxonomy
    from aggregator.render.site.layout import River, anchor, month_page_of, months
    from aggregator.store.rows import Row
    from aggregator.stories.order import in_arrival_order

    monkeypatch.setattr(search, "SHARD_SIZE", 7)
    languages = ["en", "fr", "es-MX", None]
    rows = []
    for n in range(60):
        e = entry(f"s{n % 5}:{n}", f"s{n % 5}", days=(n * 7) % 75, categories=("x", "y")[:n % 3])
        when = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=n // 4)  # ties in arrival
        rows.append(Row.of(replace(e, first_seen=when, language=languages[n % 4])))
    listed = in_arrival_order(rows)
    taxonomy = Taxonomy([CategorySettings("x", {"en": 'Équité "x"'}),
                         CategorySettings("y", {"en": "Y"})])
    args = (taxonomy, {"s1": "Ville de Montréal", "s2": "São Paulo"}, "en", ["en", "fr", "es"])
    river = River("all")
    where = month_page_of(river, months(river, listed))  # every story's page, in a table
    assert [r.url for r in search.placed(listed, *args)] == [
        f"{where[e.key]}#{anchor(e)}" for e in listed]
    whole = shard_of(search.placed(listed, *args))
    shards = list(search.placed_shards(listed, *args))
    assert [s.name for s in shards] == list(whole) and len(whole) > 5
    assert {s.name: s.records() for s in shards} == whole
    assert {s.name: s.digest("en") for s in shards} == digests(whole)  # made without records
    assert any(r.tree_url.startswith("es/") for group in whole.values() for r in group)
