"""One reading on both parse paths (the fast path and feedparser's): the date elements of
an RSS 2.0 item, the RFC 822 shape a localized date formatter writes, and windows-1252
characters under another label."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aggregator.ingest.parse.fast_path import read_feed
from aggregator.ingest.parse.feedparser_path import parse_feed

NS = ('xmlns:dc="http://purl.org/dc/elements/1.1/" '
      'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:atom="http://www.w3.org/2005/Atom"')
ELEMENTS = {
    "pubDate": "<pubDate>{}</pubDate>",
    "dcterms:created": "<dcterms:created>{}</dcterms:created>",
    "dcterms:issued": "<dcterms:issued>{}</dcterms:issued>",
    "dc:date": "<dc:date>{}</dc:date>",
    "dcterms:modified": "<dcterms:modified>{}</dcterms:modified>",
    "atom:updated": "<atom:updated>{}</atom:updated>",
}
ONE, TWO = "2021-06-07T10:00:00+02:00", "2021-06-09T09:00:00+02:00"


def rss(item: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {NS}><channel>'
            f"<title>City</title><link>https://city.example/</link><item><title>News</title>"
            f"<link>https://city.example/a</link>{item}</item></channel></rss>").encode()


def dates(body: bytes) -> list[tuple[datetime | None, datetime | None]]:
    out = []
    for read in (read_feed, parse_feed):
        [entry] = read(body, "https://city.example/feed", "application/rss+xml").entries
        out.append((entry.published, entry.updated))
    return out


@pytest.mark.parametrize("first", ELEMENTS)
@pytest.mark.parametrize("second", [None, *ELEMENTS])
def test_the_date_elements_of_an_rss_item_read_alike(first: str, second: str | None) -> None:
    if first == second:
        return
    item = ELEMENTS[first].format(ONE) + (ELEMENTS[second].format(TWO) if second else "")
    fast, feedparser = dates(rss(item))
    assert fast == feedparser, (first, second)
    assert fast[0] is not None or fast[1] is not None  # every element above is a date


WRITTEN = datetime(2021, 6, 7, 8, 0, tzinfo=UTC)
LOCALIZED = [  # CLDR abbreviations with and without their period, weekday or not,
    # seconds or not, zone as an offset or a name
    "lun., 07 juin 2021 10:00:00 +0200",
    "lun. 07 juin 2021 10:00 +0200",
    "07 juin 2021 10:00:00 +02:00",
    "lundi 7 juin 2021 10:00:00 CEST",
    "lun., 07 juin 2021 08:00:00 GMT",
    "lun., 07 juin 2021 08:00:00 UTC",
    "lun., 07 juin 2021 08:00:00 Z",
    "lun, 7 juin 2021 09:00:00 CET",
    "lun., 07 juin 2021 04:00:00 -0400",
    "lun., 07 juin 2021 03:00:00 CDT",
    "lun., 07 juin 2021 01:00:00 PDT",
    "lun., 07 juin 2021 04:00:00 EDT",
    "lun., 7 juin 2021 10h00 +0200",
    "lun., 07 juin 2021 10:00:00 +0200",
    "lu., 07 jun. 2021 10:00:00 +0200",  # Spanish
    "lun, 07 jun 2021 10:00:00 +0200",
    "7 de junio de 2021 10:00:00 +0200",
    "seg., 07 jun. 2021 10:00:00 +0200",  # Portuguese
    "lun, 07 giu 2021 10:00:00 +0200",  # Italian
    "Mo., 7. Juni 2021 10:00:00 +0200",  # German
    "Mo., 07 Jun. 2021 10:00 MESZ",
]


@pytest.mark.parametrize("written", LOCALIZED)
def test_a_localized_rfc822_date_is_read_on_both_paths(written: str) -> None:
    fast, feedparser = dates(rss(f"<pubDate>{written}</pubDate>"))
    assert fast[0] == feedparser[0] == WRITTEN, written


@pytest.mark.parametrize("written", [
    "mié., 9 jun. 2021 09:00:00 +0200",
    "mer., 09 juin 2021 09:00:00 +0200",
    "Mi., 9. Juni 2021 09:00 MESZ",
    "9 juin 2021 09:00 CEST",
])
def test_the_issues_probe_forms(written: str) -> None:
    fast, feedparser = dates(rss(f"<pubDate>{written}</pubDate>"))
    assert fast[0] == feedparser[0] == datetime(2021, 6, 9, 7, 0, tzinfo=UTC), written


def test_an_unknown_zone_name_is_not_guessed() -> None:
    fast, feedparser = dates(rss("<pubDate>lun., 07 juin 2021 10:00:00 XYZT</pubDate>"))
    assert fast[0] == feedparser[0]
    assert fast[0] is None or fast[0] == datetime(2021, 6, 7, 10, 0, tzinfo=UTC)


TITLE = "30 M\u20ac pour l\u2019\u00e9cole \u2013 \u00ab oui \u00bb \u201cvote\u201d"
CP1252_LIES = {
    "declared ISO-8859-1, windows-1252 bytes": (
        b'<?xml version="1.0" encoding="ISO-8859-1"?>'
        + rss(f"<description>{TITLE}</description>").split(b"?>", 1)[1]
        .decode().replace("News", TITLE).encode("cp1252")),
    "UTF-8 with &#128;-&#159; references": rss(
        "<description>30 M&#128; pour l&#146;&#233;cole &#150; &#171; oui &#187; "
        "&#147;vote&#148;</description>").replace(b"<title>News</title>", (
            b"<title>30 M&#128; pour l&#146;&#233;cole &#150; &#171; oui &#187; "
            b"&#147;vote&#148;</title>")),
}


@pytest.mark.parametrize("lie", CP1252_LIES)
def test_windows_1252_characters_survive_on_both_paths(lie: str) -> None:
    """The commonest encoding lie of European CMSs: the euro sign, quotes and dashes are
    kept (as windows-1252 means them), not deleted as control characters."""
    for read in (read_feed, parse_feed):
        [entry] = read(CP1252_LIES[lie], "https://city.example/feed", None).entries
        assert (entry.title, entry.summary) == (TITLE, TITLE), (lie, read.__name__)


def atom(entry: str) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            "<title>City</title><id>urn:city</id><updated>2021-06-07T10:00:00Z</updated>"
            "<link href='https://city.example/'/><entry><id>urn:city:1</id>"
            "<updated>2021-06-07T10:00:00Z</updated><link href='https://city.example/a'/>"
            f"{entry}</entry></feed>").encode()


@pytest.mark.parametrize("entry", [
    '<title type="html"><b>Tram</b> line opens</title>',
    '<title>Tram</title><summary type="html">The <em>new</em> line opens</summary>',
    '<title>Tram</title><content type="html"><p>The line</p><p>opens.</p></content>',
    '<title>Tram</title><content type="application/octet-stream">VGhlIGxpbmU=</content>',
])
def test_atom_text_with_child_elements_or_a_non_text_type_reads_alike(entry: str) -> None:
    body = atom(entry)
    fast, feedparser = (read(body, "https://city.example/feed", None).entries[0]
                        for read in (read_feed, parse_feed))
    assert (fast.title, fast.summary, fast.content) == \
        (feedparser.title, feedparser.summary, feedparser.content)
    assert fast.title and fast.title != "(untitled)"


@pytest.mark.parametrize("links", [
    "<link rel='alternate' type='application/pdf' href='https://city.example/a.pdf'/>"
    "<link rel='alternate' type='text/html' href='https://city.example/a.html'/>",
    "<link type='application/pdf' href='https://city.example/a.pdf'/>"
    "<link href='https://city.example/a.html'/>",
    "<link rel='alternate' type='text/html' href='https://city.example/1.html'/>"
    "<link rel='alternate' href='https://city.example/2.html'/>",
    "<link rel='alternate' type='application/pdf' href='https://city.example/a.pdf'/>",
    "<link rel='enclosure' href='https://city.example/e.mp3'/>"
    "<link href='https://city.example/h.html'/>",
])
def test_an_atom_entrys_link_is_its_html_page_on_both_paths(links: str) -> None:
    body = atom("<title>T</title>").replace(b"<link href='https://city.example/a'/>",
                                            links.encode())
    fast, feedparser = (read(body, "https://city.example/feed", None).entries[0].link
                        for read in (read_feed, parse_feed))
    assert fast == feedparser
    assert fast is None or not fast.endswith((".pdf", ".mp3"))


@pytest.mark.parametrize(("written", "read"), [
    ("Lo&amp;#239;c", "Lo\u00efc"),
    ("Caf&amp;eacute; des arts", "Caf\u00e9 des arts"),
    ("Tom &amp;amp; Jerry", "Tom & Jerry"),
    ("A &amp;lt;b&amp;gt; tag", "A <b> tag"),
    ("R&amp;D news", "R&D news"),
    ("&lt;b&gt;Bold&lt;/b&gt; news", "Bold news"),
    ("Fish &amp; chips", "Fish & chips"),
])
def test_an_escaped_rss_title_is_decoded_once_on_both_paths(written: str, read: str) -> None:
    """The rule: an RSS title is escaped HTML when it holds tags or character references
    after the XML parse; it is then decoded once (feedparser's reading)."""
    body = rss("").replace(b"<title>News</title>", f"<title>{written}</title>".encode())
    titles = [r(body, "https://city.example/feed", None).entries[0].title
              for r in (read_feed, parse_feed)]
    assert titles == [read, read]
