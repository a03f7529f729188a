"""Identity, canonical URLs, stories and the merge plan (pure functions), table-driven."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.models import EntryData, FeedMeta, StoredEntry
from aggregator.store.memory import MemoryStore
from aggregator.stories.identity import broken_ids, canonical_url, identities
from aggregator.stories.plan import (
    MAX_REVISIONS,
    Candidate,
    Lookups,
    Plan,
    plan,
)
from aggregator.stories.similarity import fingerprints, lookup_keys, republished, text_of

NOW = datetime(2026, 1, 1, tzinfo=UTC)
KINDS = {"city": "member", "town": "member", "agency": "partner", "ngo": "partner",
         "a": "member", "b": "partner"}


@pytest.mark.parametrize(("a", "b"), [
    ("https://x.org/a?utm_source=rss&utm_medium=feed", "https://x.org/a"),
    ("http://x.org/a", "https://x.org/a"),
    ("https://WWW.X.org/a/", "https://x.org/a"),
    ("https://x.org:443/a#comments", "https://x.org/a"),
    ("http://x.org:80/a", "https://x.org/a"),
    ("https://x.org/a?b=2&a=1&fbclid=zz", "https://x.org/a?a=1&b=2"),
    ("https://x.org/a?gclid=1&mc_cid=2&mc_eid=3", "https://x.org/a"),
])
def test_same_canonical(a: str, b: str) -> None:
    assert canonical_url(a) == canonical_url(b)


@pytest.mark.parametrize(("a", "b"), [
    ("https://x.org/a", "https://x.org/b"),
    ("https://x.org/a?id=1", "https://x.org/a?id=2"),
    ("https://x.org/a", "https://y.org/a"),
    ("https://x.org:8443/a", "https://x.org/a"),
    ("https://x.org/A", "https://x.org/a"),  # paths are case-sensitive
])
def test_different_canonical(a: str, b: str) -> None:
    assert canonical_url(a) != canonical_url(b)


def e(guid: str | None, link: str | None, title: str = "T", day: int = 1,
      summary: str | None = None, updated: datetime | None = None) -> EntryData:
    return EntryData(guid=guid, link=link, title=title, summary=summary,
                     published=datetime(2021, 6, day, tzinfo=UTC), updated=updated)


def test_identity_ladder_and_duplicate_guids() -> None:
    ids = identities([e("g1", "https://x.org/1"), e(None, "https://x.org/2"),
                      e(None, None, "Only a title"), e("g1", "https://x.org/3"),
                      e("g1", "https://x.org/3")])
    assert ids[0] == "g1" and ids[1] == "https://x.org/2" and ids[2].startswith("hash:")
    assert len(set(ids)) == 5  # repeated guids told apart, never merged


@pytest.mark.parametrize(("guids", "stored", "broken"), [
    (["a", "b", "c", "d"], {}, None),
    (["same"] * 5, {}, "ids mostly duplicated"),
    (["a", "a", "a", "b"], {}, "ids mostly duplicated"),
    (["n1", "n2", "n3", "n4"], {f"https://x.org/{i}": f"o{i}" for i in range(4)},
     "ids change between fetches"),
    (["o0", "o1", "n2", "n3"], {f"https://x.org/{i}": f"o{i}" for i in range(4)}, None),
])
def test_broken_ids(guids: list[str], stored: dict[str, str], broken: str | None) -> None:
    entries = [e(g, f"https://x.org/{i}") for i, g in enumerate(guids)]
    reason = broken_ids(entries, {canonical_url(k) or "": v for k, v in stored.items()})
    assert (reason is None) == (broken is None)
    assert reason is None or reason.startswith(broken or "")


def candidate(source: str, data: EntryData, cats: tuple[str, ...] = ("x",),
              by_link: bool = False) -> Candidate:
    ident = identities([data], by_link)[0]
    return Candidate(source, KINDS[source], ident, data, cats, "en",  # type: ignore[arg-type]
                     FeedMeta(title=source), by_link)


def lookups(store: MemoryStore) -> Lookups:
    return Lookups(store.get, store.by_canonical, store.by_story, store.by_fingerprint,
                   store.is_tombstone)


def run(cands: list[Candidate], store: MemoryStore | None = None, now: datetime = NOW
        ) -> tuple[MemoryStore, Plan]:
    store = store or MemoryStore()
    p = plan(cands, lookups(store), KINDS, "tag:t,2026:", now)  # type: ignore[arg-type]
    store.apply(p.writes, [])
    return store, p


def test_same_entry_twice_is_stored_once() -> None:
    c = candidate("a", e("g1", "https://x.org/1"))
    store, _ = run([c])
    _, again = run([c], store)
    assert again.writes == () and again.new == {} and again.changed == {}


OPENING = ("The city council adopted a local resilience plan on Monday, with retention basins, "
           "an early warning system for the exposed districts and a fund for households.")


@pytest.mark.parametrize(("first", "second", "merged"), [
    # same link, tracking parameters and www/http differences
    (e("m1", "https://city.org/story", "Plan"),
     e("p1", "http://www.city.org/story/?utm_source=agency", "Plan adopted"), True),
    # a cross-post under another link: same title, same opening
    (e("m1", "https://city.org/news/plan", "City adopts its resilience plan", summary=OPENING),
     e("p1", "https://agency.org/stories/77", "City adopts its resilience plan",
       summary=OPENING + " Our programme supported it.", day=2), True),
    # a cross-post with a "Via X:" title prefix and a trimmed summary
    (e("m1", "https://city.org/news/plan", "City adopts its resilience plan", summary=OPENING),
     e("p1", "https://agency.org/s/78", "Via Cities Alliance: City adopts its resilience plan",
       summary=" ".join(OPENING.split()[:14]) + "…", day=3), True),
    # a reworded title is a rewrite, not a republished text: not enough evidence
    (e("m1", "https://city.org/news/plan", "City adopts its resilience plan", summary=OPENING),
     e("p1", "https://agency.org/s/78", "Resilience plan adopted by the city council",
       summary=OPENING, day=3), False),
    # one template, two cities: every word but the city's name is shared
    (e("m1", "https://leeds.gov.uk/n/1", "Leeds: the city council funds a night bus network",
       summary="The city council announced on Monday that it will fund a night bus network "
               "for the districts of Leeds, with twelve lines from next spring."),
     e("p1", "https://bristol.gov.uk/n/9", "Bristol: the city council funds a night bus network",
       summary="The city council announced on Monday that it will fund a night bus network "
               "for the districts of Bristol, with twelve lines from next spring."), False),
    # the same global id (a URI guid) published by two sources
    (e("https://city.org/?p=881", "https://city.org/news/881", "Plan"),
     e("https://city.org/?p=881", "https://agency.org/republished/881", "A plan", day=20),
     True),
    # ids that only look alike (plain numbers) are not global
    (e("881", "https://city.org/news/881", "Plan"),
     e("881", "https://agency.org/republished/881", "Plan"), False),
    # same title, different story (a recurring post)
    (e("m1", "https://city.org/n/1", "Notice of the council meeting",
       summary="The full council meets on 30 June to vote on the budget and the new bus lines."),
     e("p1", "https://agency.org/n/2", "Notice of the council meeting",
       summary="Partners meet in Geneva on 2 July to review the urban resilience scorecard."),
     False),
    # near-duplicate wording, but a different story (a different city, other facts)
    (e("m1", "https://city.org/n/1", "City adopts its resilience plan", summary=OPENING),
     e("p1", "https://other.org/n/2", "Town adopts a mobility plan",
       summary="The town council approved new bus rapid transit lines, bicycle lanes and a "
               "low-emission zone for the historic centre, to open next spring.", day=2),
     False),
    # the same title and text, but weeks apart: outside the window
    (e("m1", "https://city.org/news/plan", "City adopts its resilience plan", summary=OPENING),
     e("p1", "https://agency.org/stories/77", "City adopts its resilience plan",
       summary=OPENING, day=28), False),
    # short titles alone are never enough
    (e("m1", "https://city.org/a", "Weekly news"), e("p1", "https://agency.org/b", "Weekly news"),
     False),
])
def test_stories(first: EntryData, second: EntryData, merged: bool) -> None:
    store, _ = run([candidate("city", first, ("x",)), candidate("agency", second, ("y",))])
    primaries = store.entries()
    assert len(primaries) == (1 if merged else 2)
    if merged:
        (primary,) = primaries
        assert primary.source_id == "city" and set(primary.categories) == {"x", "y"}
        (copy,) = store.copies_of(primary.key)
        reason = copy.merge_reason or ""
        assert reason.startswith(("same link", "republished text", "same id"))
        assert primary.merge_reason is None


def test_cross_post_keeps_the_original_publisher_in_any_order() -> None:
    member = candidate("city", e("m1", "https://city.org/story", day=3), ("x",))
    partner = candidate("agency", e("p9", "http://www.city.org/story/?utm_source=agency",
                                    day=4), ("y",))
    early_partner = candidate("ngo", e("n1", "https://city.org/story#top", day=3))
    results = []
    for order in itertools.permutations([member, partner, early_partner]):
        store = MemoryStore()
        for c in order:  # one per cycle: the survivor must not depend on ingest order
            run([c], store)
        results.append(store.entries(include_duplicates=True))
    assert all(r == results[0] for r in results)
    primary = next(x for x in results[0] if x.duplicate_of is None)
    assert primary.source_id == "city"  # tie on date: member before partner
    assert set(primary.categories) == {"x", "y"}
    assert len(primary.via) == 2


def test_update_never_moves_updated_backwards() -> None:
    store, _ = run([candidate("a", e("g1", "https://x.org/1", "Old", day=5))])
    older = e("g1", "https://x.org/1", "New", day=5, updated=datetime(2021, 6, 2, tzinfo=UTC))
    run([candidate("a", older)], store)
    (got,) = store.entries()
    assert got.title == "New" and got.updated == datetime(2021, 6, 5, tzinfo=UTC)


def test_churning_entry_is_frozen_for_a_day() -> None:
    store, _ = run([candidate("a", e("g1", "https://x.org/1", "Views: 0"))])
    titles = []
    for i in range(1, 8):
        now = NOW + timedelta(hours=i)
        run([candidate("a", e("g1", "https://x.org/1", f"Views: {i}"))], store, now)
        titles.append(store.entries()[0].title)
    assert titles == ["Views: 1", "Views: 2", "Views: 3"] + ["Views: 3"] * 4
    assert MAX_REVISIONS == 3
    run([candidate("a", e("g1", "https://x.org/1", "Views: 99"))], store, NOW + timedelta(days=2))
    assert store.entries()[0].title == "Views: 99"  # the next day it may change again


def test_link_identity_updates_entries_stored_under_guid_keys() -> None:
    store, _ = run([candidate("a", e("g1", "https://x.org/1", "One"))])
    _, p = run([candidate("a", e("g-new", "https://x.org/1", "One, edited"), by_link=True)],
               store)
    assert p.new == {} and p.changed == {"a": 1}
    (entry,) = store.entries(include_duplicates=True)
    assert entry.title == "One, edited"


def test_implausible_dates_become_first_seen() -> None:
    store, _ = run([candidate("a", EntryData(
        guid="g", link=None, title="t", published=datetime(1970, 1, 1, tzinfo=UTC))),
        candidate("a", EntryData(
            guid="h", link=None, title="u", published=datetime(2999, 1, 1, tzinfo=UTC)))])
    assert {x.published for x in store.entries()} == {NOW}


def test_first_seen_is_stable() -> None:
    store, _ = run([candidate("a", EntryData(guid="g", link=None, title="t"))])
    first: StoredEntry = store.entries()[0]
    later = datetime(2026, 2, 1, tzinfo=UTC)
    changed = candidate("a", EntryData(guid="g", link=None, title="t2"))
    p = plan([changed], lookups(store), KINDS, "tag:t,2026:", later)  # type: ignore[arg-type]
    assert p.writes[0].published == first.published == NOW


def test_tombstones_keep_pruned_entries_out() -> None:
    c = candidate("a", e("g1", "https://x.org/1"))
    store, _ = run([c])
    store.apply([], [], removed=[c.key])
    _, again = run([c], store)
    assert again.writes == () and store.entries(include_duplicates=True) == []


@pytest.mark.parametrize("links", [
    # the RSS 2.0 specification's sample: items link to anchors on one page
    ["https://x.org/news#1", "https://x.org/news#2", "https://x.org/news#3"],
    # a press-release feed whose items all point at the listing page
    ["https://x.org/press/"] * 3,
    # every item links to the source's home page
    ["https://x.org/", "http://www.x.org", "https://x.org/?utm_source=rss"],
    # no link at all
    [None, None, None],
])
def test_distinct_ids_in_one_source_stay_distinct(links: list[str | None]) -> None:
    cands = [candidate("city", e(f"g{i}", link, f"Item number {i} of the list", day=i + 1))
             for i, link in enumerate(links)]
    store, p = run(cands)
    assert len(store.entries()) == 3 and p.new == {"city": 3}
    assert store.copies_by_source() == {}
    # a partner linking to that page joins one story, and only one entry of it
    partner = candidate("agency", e("p1", links[0], "Item number 0 of the list", day=1))
    run([partner], store)
    if links[0] is not None:
        (copy,) = [x for x in store.entries(include_duplicates=True) if x.duplicate_of]
        assert copy.source_id == "agency"
        assert store.copies_by_source() == {"agency": 1}
    assert len(store.entries()) == (3 if links[0] else 4)


def _text(first_words: str) -> str:
    return first_words + " and the rest of a long opening paragraph about the programme."


def test_no_chains_through_a_third_entry() -> None:
    # B's title contains A's and C's; A and C share no evidence with each other.
    a = candidate("city", e("a", "https://a.org/1", "Night buses for the districts", day=1,
                            summary=_text("One two three four five six seven eight")))
    b = candidate("agency", e("b", "https://b.org/1", "Night buses for the districts", day=2,
                              summary=_text("One two three four five six seven eight")))
    c = candidate("ngo", e("c", "https://c.org/1", "Night buses for the districts", day=3,
                           summary=_text("One two three four five six seven nine")))
    for order in itertools.permutations([a, b, c]):
        store = MemoryStore()
        for cand in order:
            run([cand], store)
        stories = {x.source_id: x.story for x in store.entries(include_duplicates=True)}
        assert stories["city"] == stories["agency"] != stories["ngo"], order


def test_copies_stay_reachable_and_counted() -> None:
    member = candidate("city", e("m1", "https://city.org/s", "Plan", day=1))
    partner = candidate("agency", e("p1", "https://city.org/s?utm_source=x", "Plan", day=2))
    store, _ = run([member, partner])
    assert [x.source_id for x in store.entries()] == ["city"]
    assert len(store.entries(include_duplicates=True)) == 2
    assert store.copies_by_source() == {"agency": 1}


@settings(max_examples=300, deadline=None)
@given(words=st.lists(st.sampled_from(list("abcdefgh")), min_size=1, max_size=45),
       keep_a=st.integers(1, 45), keep_b=st.integers(1, 45),
       cut=st.integers(0, 44), other=st.sampled_from(["x", "a"]))
def test_every_pair_the_rule_accepts_shares_a_lookup_key(
        words: list[str], keep_a: int, keep_b: int, cut: int, other: str) -> None:
    # two openings: trims of one text, the second possibly changed at one word
    text_b = list(words)
    if cut < len(text_b):
        text_b[cut] = other
    a, b = " ".join(words[:keep_a]), " ".join(text_b[:keep_b])
    title = "Leeds funds a night bus network"
    if republished(text_of(title, a), text_of(title, b)) is not None:
        assert set(lookup_keys(title, a, None)) & set(fingerprints(title, b, None))
        assert set(lookup_keys(title, b, None)) & set(fingerprints(title, a, None))
