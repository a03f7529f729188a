"""Month pages of a busy month are parts by arrival: a late story joins the last part, the
other parts (and the addresses search results point at) stay as they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aggregator.models import StoredEntry
from aggregator.render.site.layout import MONTH_PAGE, MonthPages, River, month_page_of, months

MARCH = datetime(2026, 3, 1, tzinfo=UTC)


def entry(n: int, published: datetime, arrived: datetime) -> StoredEntry:
    return StoredEntry(key=f"k{n}", source_id="s", entry_id=f"k{n}", title=f"Story {n}",
                       link=None, canonical_link=None, published=published,
                       updated=published, first_seen=arrived, content_hash=str(n))


def test_a_late_story_changes_only_the_last_part_of_its_month() -> None:
    march = [entry(n, MARCH + timedelta(minutes=10 * n), MARCH + timedelta(minutes=10 * n))
             for n in range(2 * MONTH_PAGE + 5)]
    february = [entry(10_000, MARCH - timedelta(days=3), MARCH - timedelta(days=3))]
    river = River("all")
    before = months(river, march + february)
    assert [s.name for s in before] == ["month/2026-03-p3.html", "month/2026-03-p2.html",
                                        "month/2026-03.html", "month/2026-02.html"]
    assert [len(s.entries) for s in before] == [5, MONTH_PAGE, MONTH_PAGE, 1]
    for sheet in before:  # newest first on each page
        assert [e.published for e in sheet.entries] == sorted(
            (e.published for e in sheet.entries), reverse=True)
    assert before[0].newer is None and before[0].older == "month/2026-03-p2.html"
    assert before[2].older == "month/2026-02.html"
    # published early in March, arrived today: it joins the last part, not part 1
    late = entry(99_999, MARCH + timedelta(minutes=1), MARCH + timedelta(days=40))
    after = months(river, [*march, *february, late])
    assert late in after[0].entries
    assert [s.entries for s in after[1:]] == [s.entries for s in before[1:]]


def test_month_pages_find_each_entrys_part_as_the_whole_table_does() -> None:
    """A card's link to its article: found by bisecting each month's parts (arrivals that
    tie on first seen included), the same page the table of every entry names."""
    entries = [entry(n, MARCH + timedelta(days=n % 45, minutes=n),
                     MARCH + timedelta(hours=n // 7)) for n in range(3 * MONTH_PAGE + 40)]
    sheets = months(River("all"), entries, ordered=False)
    table = month_page_of(River("all"), sheets)
    found = MonthPages(sheets)
    assert len(set(table.values())) == 4  # three parts of March, one of April
    assert {e.key: found.get(e) for e in entries} == table
    assert found.get(entry(1, MARCH.replace(year=2020), MARCH)) == ""  # a month without pages
