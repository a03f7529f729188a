"""Identity, canonical URLs and the merge plan (pure functions)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from aggregator.dedup import Candidate, canonical_url, identities, plan
from aggregator.models import EntryData, FeedMeta, StoredEntry
from aggregator.store.memory import MemoryStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("a", "b"), [
    ("https://x.org/a?utm_source=rss&utm_medium=feed", "https://x.org/a"),
    ("http://x.org/a", "https://x.org/a"),
    ("https://WWW.X.org/a/", "https://x.org/a"),
    ("https://x.org:443/a#comments", "https://x.org/a"),
    ("https://x.org/a?b=2&a=1&fbclid=zz", "https://x.org/a?a=1&b=2"),
])
def test_same_canonical(a: str, b: str) -> None:
    assert canonical_url(a) == canonical_url(b)


@pytest.mark.parametrize(("a", "b"), [
    ("https://x.org/a", "https://x.org/b"),
    ("https://x.org/a?id=1", "https://x.org/a?id=2"),
    ("https://x.org/a", "https://y.org/a"),
])
def test_different_canonical(a: str, b: str) -> None:
    assert canonical_url(a) != canonical_url(b)


def e(guid: str | None, link: str | None, title: str = "T", day: int = 1) -> EntryData:
    return EntryData(guid=guid, link=link, title=title,
                     published=datetime(2021, 6, day, tzinfo=UTC))


def test_identity_ladder_and_duplicate_guids() -> None:
    ids = identities([e("g1", "https://x.org/1"), e(None, "https://x.org/2"),
                      e(None, None, "Only a title"), e("g1", "https://x.org/3"),
                      e("g1", "https://x.org/3")])
    assert ids[0] == "g1" and ids[1] == "https://x.org/2" and ids[2].startswith("hash:")
    assert len(set(ids)) == 5  # repeated guids told apart, never merged


def candidate(source: str, kind: str, data: EntryData, cats: tuple[str, ...] = ("x",)
              ) -> Candidate:
    ident = data.guid or data.link or data.title
    return Candidate(source, kind, ident, data, cats, "en", FeedMeta(title=source))  # type: ignore[arg-type]


def run(cands: list[Candidate], store: MemoryStore | None = None) -> MemoryStore:
    store = store or MemoryStore()
    kinds = {c.source_id: c.kind for c in cands}
    p = plan(cands, store.get, store.by_canonical, kinds, "tag:t,2026:", NOW)  # type: ignore[arg-type]
    store.apply(p.writes, [])
    return store


def test_same_entry_twice_is_stored_once() -> None:
    c = candidate("a", "member", e("g1", "https://x.org/1"))
    store = run([c])
    p = plan([c], store.get, store.by_canonical, {"a": "member"}, "tag:t,2026:", NOW)
    assert p.writes == () and p.new == {} and p.changed == {}


def test_cross_post_keeps_the_original_publisher_in_any_order() -> None:
    member = candidate("city", "member", e("m1", "https://city.org/story", day=3), ("x",))
    partner = candidate("agency", "partner",
                        e("p9", "http://www.city.org/story/?utm_source=agency", day=4), ("y",))
    early_partner = candidate("ngo", "partner", e("n1", "https://city.org/story#top", day=3))
    results = []
    for order in itertools.permutations([member, partner, early_partner]):
        store = MemoryStore()
        for c in order:  # one per cycle: the survivor must not depend on ingest order
            run([c], store)
        results.append(store.entries())
    assert all(r == results[0] for r in results)
    (primary,) = results[0]
    assert primary.source_id == "city"  # tie on date: member before partner
    assert set(primary.categories) == {"x", "y"}
    assert len(primary.via) == 2


def test_update_never_moves_updated_backwards() -> None:
    store = run([candidate("a", "member", e("g1", "https://x.org/1", "Old", day=5))])
    older = EntryData(guid="g1", link="https://x.org/1", title="New",
                      published=datetime(2021, 6, 5, tzinfo=UTC),
                      updated=datetime(2021, 6, 2, tzinfo=UTC))
    run([candidate("a", "member", older)], store)
    (got,) = store.entries()
    assert got.title == "New" and got.updated == datetime(2021, 6, 5, tzinfo=UTC)


def test_implausible_dates_become_first_seen() -> None:
    store = run([candidate("a", "member", EntryData(
        guid="g", link=None, title="t", published=datetime(1970, 1, 1, tzinfo=UTC))),
        candidate("a", "member", EntryData(
            guid="h", link=None, title="u", published=datetime(2999, 1, 1, tzinfo=UTC)))])
    assert {x.published for x in store.entries()} == {NOW}


def test_first_seen_is_stable() -> None:
    store = run([candidate("a", "member", EntryData(guid="g", link=None, title="t"))])
    first: StoredEntry = store.entries()[0]
    later = datetime(2026, 2, 1, tzinfo=UTC)
    changed = candidate("a", "member", EntryData(guid="g", link=None, title="t2"))
    p = plan([changed], store.get, store.by_canonical, {"a": "member"}, "tag:t,2026:", later)
    assert p.writes[0].published == first.published == NOW
