"""Parsing and normalization of the formats and quirks the examples carry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import EXAMPLES

from aggregator.dates import parse_loose, plausible
from aggregator.errors import ParseError
from aggregator.ingest.parse.feedparser_path import parse_feed
from aggregator.ingest.parse.xmlguard import cut_short
from aggregator.sanitize import clean_html, clean_text, plain_text, safe_url

FORMATS = {"sousse-member-rss2.xml": "rss20", "barcelona-member-atom.xml": "atom10",
           "durban-member-rss1.xml": "rss10"}


@pytest.mark.parametrize(("name", "version"), FORMATS.items())
def test_formats(name: str, version: str) -> None:
    feed = parse_feed((EXAMPLES / name).read_bytes(), "https://feeds.example/f.xml")
    assert feed.format == version and len(feed.entries) == 3


def test_rss091_and_atom03() -> None:
    rss091 = (b'<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title>'
              b"<link>https://old.example/</link><item><title>One</title>"
              b"<link>https://old.example/1</link></item></channel></rss>")
    atom03 = (b'<?xml version="1.0"?><feed version="0.3" xmlns="http://purl.org/atom/ns#">'
              b"<title>Old Atom</title><entry><title>E</title><id>tag:o,2004:1</id>"
              b'<link rel="alternate" href="https://old.example/e"/>'
              b"<issued>2004-01-01T00:00:00Z</issued></entry></feed>")
    assert parse_feed(rss091, "https://old.example/f").entries[0].link == "https://old.example/1"
    a = parse_feed(atom03, "https://old.example/f")
    assert a.format == "atom03" and a.entries[0].guid == "tag:o,2004:1"


def test_relative_links_resolve_against_the_final_url() -> None:
    body = (b'<rss version="2.0"><channel><title>t</title><item><title>a</title>'
            b"<link>/news/1</link><description>&lt;a href=\"../x\"&gt;x&lt;/a&gt;"
            b"</description></item></channel></rss>")
    entry = parse_feed(body, "https://city.example/feeds/rss.xml").entries[0]
    assert entry.link == "https://city.example/news/1"
    assert 'href="https://city.example/x"' in (entry.summary or "")


def test_hostile_content_is_cleaned() -> None:
    body = (b'<rss version="2.0"><channel><title>t</title><item>'
            b"<title>&lt;b&gt;Bold&lt;/b&gt; &amp;amp; title\x01</title>"
            b"<link>javascript:alert(1)</link>"
            b"<description>&lt;p onclick=\"x()\"&gt;Hi&lt;/p&gt;&lt;script&gt;bad()&lt;/script&gt;"
            b"&lt;a href=\"javascript:alert(1)\"&gt;j&lt;/a&gt;&lt;iframe src=\"https://e.x\"&gt;"
            b"&lt;/iframe&gt;</description></item></channel></rss>")
    entry = parse_feed(body, "https://x.example/f").entries[0]
    assert entry.link is None
    assert entry.title == "Bold & title"
    summary = entry.summary or ""
    for bad in ("onclick", "<script", "bad()", "javascript:", "<iframe"):
        assert bad not in summary
    assert "<p>Hi</p>" in summary


@pytest.mark.parametrize(("body", "message"), [
    (b"", "not a feed"), (b"<html><body>Not a feed</body></html>", "not a feed"),
    (b"\x00\x01\x02", "not a feed"), (b"{not json", "invalid JSON"),
    (b'{"rss": {"channel": {}}}', "not a JSON Feed"), (b"[1, 2]", "not an object"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
])
def test_not_a_feed(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_feed(body, "https://x.example/f")


@pytest.mark.parametrize(("text", "expected"), [
    ("27/05/2021", datetime(2021, 5, 27, tzinfo=UTC)),
    ("27.05.2021 14:30", datetime(2021, 5, 27, 14, 30, tzinfo=UTC)),
    ("3 mai 2021", datetime(2021, 5, 3, tzinfo=UTC)),
    ("lundi 1er février 2021", datetime(2021, 2, 1, tzinfo=UTC)),
    ("27 de mayo de 2021", datetime(2021, 5, 27, tzinfo=UTC)),
    ("15 de março de 2022", datetime(2022, 3, 15, tzinfo=UTC)),
    ("1622073600", datetime(2021, 5, 27, tzinfo=UTC)),
    ("31/02/2021", None),
    ("next tuesday", None),
])
def test_loose_dates(text: str, expected: datetime | None) -> None:
    assert parse_loose(text) == expected


def test_plausibility() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert plausible(datetime(1994, 12, 31, tzinfo=UTC), now) is None
    assert plausible(datetime(2026, 1, 3, tzinfo=UTC), now) is None
    assert plausible(datetime(2025, 1, 1, tzinfo=UTC), now) == datetime(2025, 1, 1, tzinfo=UTC)


def test_text_hygiene() -> None:
    assert clean_text("a\x00b\x1fcd\ufffe") == "abcd"
    # a C1 control is the windows-1252 byte it was (issue 27); the five undefined ones go
    assert clean_text("c\x85d\x80\x81\x9d") == "c\u2026d\u20ac"
    assert clean_text("e\u0301") == "\u00e9"  # NFC
    assert plain_text("<i>AT&amp;T</i>  news", True) == "AT&T news"
    assert plain_text("AT&T <rocks>", False) == "AT&T <rocks>"
    assert safe_url("data:text/html,x") is None and safe_url("ftp://x.org/") is None
    assert clean_html('<a href="mailto:a@b.org">m</a>').startswith('<a href="mailto:')


@pytest.mark.parametrize(("text", "expected"), [
    ("1622800000", datetime(2021, 6, 4, 9, 46, 40, tzinfo=UTC)),  # epoch seconds
    ("1622800000000", datetime(2021, 6, 4, 9, 46, 40, tzinfo=UTC)),  # epoch milliseconds
    ("27-05-2021", datetime(2021, 5, 27, tzinfo=UTC)),
    ("27.05.2021", datetime(2021, 5, 27, tzinfo=UTC)),
    ("2021/05/27", datetime(2021, 5, 27, tzinfo=UTC)),
    ("2021.05.27 10:15", datetime(2021, 5, 27, 10, 15, tzinfo=UTC)),
    ("lun., 07 juin 2021", datetime(2021, 6, 7, tzinfo=UTC)),  # fr, dotted weekday
    ("lun 07 juin 2021", datetime(2021, 6, 7, tzinfo=UTC)),
    ("ven., 4 févr. 2022", datetime(2022, 2, 4, tzinfo=UTC)),
    ("mié., 9 jun. 2021", datetime(2021, 6, 9, tzinfo=UTC)),  # es
    ("sáb 9 oct 2021", datetime(2021, 10, 9, tzinfo=UTC)),
    ("seg., 07 jun. 2021", datetime(2021, 6, 7, tzinfo=UTC)),  # pt
    ("qui, 7 out 2021", datetime(2021, 10, 7, tzinfo=UTC)),
    ("gio 10 giu 2021", datetime(2021, 6, 10, tzinfo=UTC)),  # it
    ("mer., 3 mag. 2023", datetime(2023, 5, 3, tzinfo=UTC)),
    ("Mo., 07. Juni 2021", datetime(2021, 6, 7, tzinfo=UTC)),  # de: a dot after the day
    ("Di 12. Okt. 2021", datetime(2021, 10, 12, tzinfo=UTC)),
    ("3. März 2020", datetime(2020, 3, 3, tzinfo=UTC)),
])
@pytest.mark.parametrize("element", ["pubDate", "dc:date", "dcterms:created", "atom03"])
def test_member_site_dates_in_every_element(text: str, expected: datetime, element: str
                                            ) -> None:
    if element == "atom03":
        body = ('<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>t</title>'
                f"<entry><title>x</title><created>{text}</created></entry></feed>")
    else:
        body = ('<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
                'xmlns:dcterms="http://purl.org/dc/terms/"><channel><title>t</title>'
                f"<item><title>x</title><{element}>{text}</{element}></item></channel></rss>")
    (entry,) = parse_feed(body.encode(), "https://x.example/f").entries
    assert (entry.published or entry.updated) == expected  # dc:date is read as updated


def test_created_is_only_a_fallback() -> None:
    body = ('<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>t</title><entry>'
            "<title>x</title><created>2021-06-01T00:00:00Z</created>"
            "<issued>2021-06-02T00:00:00Z</issued></entry></feed>")
    (entry,) = parse_feed(body.encode(), "https://x.example/f").entries
    assert entry.published == datetime(2021, 6, 2, tzinfo=UTC)


@pytest.mark.parametrize("hidden", [
    "<![CDATA[<p>Paste this: <!DOCTYPE html><html>…</html></p>]]>",
    "<![CDATA[<!doctype html [ <!ENTITY x 'y'> ]>]]>",
    "&lt;!DOCTYPE html&gt; in escaped text",
])
@pytest.mark.parametrize("place", ["description", "comment", "pi"])
def test_doctype_as_text_loses_nothing(hidden: str, place: str) -> None:
    middle = {"description": f"<description>{hidden}</description>",
              "comment": "<!-- an old template said <!DOCTYPE html> -->",
              "pi": "<?render <!DOCTYPE html> ?>"}[place]
    items = "".join(f"<item><title>Item {i}</title><guid>g{i}</guid>"
                    f"{middle if i == 1 else ''}</item>" for i in range(4))
    body = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}'
            "</channel></rss>")
    parsed = parse_feed(body.encode(), "https://x.example/f")
    assert [e.title for e in parsed.entries] == [f"Item {i}" for i in range(4)]
    if place == "description" and "Paste" in hidden:
        assert (parsed.entries[1].summary or "").startswith("<p>Paste this:")


def test_real_doctypes_still_go_after_cdata_and_comments() -> None:
    body = (b'<?xml version="1.0"?><!-- <![CDATA[ --><!DOCTYPE rss [<!ENTITY boom "BOOM">]>'
            b'<rss version="2.0"><channel><title>&boom;</title><item><title>a &boom;</title>'
            b"<description><![CDATA[x]]></description></item></channel></rss>")
    parsed = parse_feed(body, "https://x.example/f")
    assert "BOOM" not in parsed.meta.title and "BOOM" not in parsed.entries[0].title


def test_a_doctype_that_never_ends_is_an_error_not_a_cut() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE rss [ <!ENTITY a "b"> <rss><channel></channel></rss>'
    with pytest.raises(ParseError, match="DOCTYPE that never ends"):
        parse_feed(body, "https://x.example/f")


@pytest.mark.parametrize(("body", "root"), [
    (b'<?xml version="1.0"?><!-- c --><rss><channel></channel></rss>', None),
    (b"<rss><channel><item><title>a</title></item>", "rss"),
    (b'<?xml version="1.0"?>\n<rdf:RDF a="1"><item></item>', "rdf:RDF"),
    ('<feed xmlns="http://www.w3.org/2005/Atom"><entry>'.encode("utf-16"), "feed"),
    (b"<feed/>", None),
    (b"<rss><channel></channel></rss>junk after the root", None),
])
def test_a_document_cut_short_is_told_by_its_unclosed_root(body: bytes, root: str | None
                                                           ) -> None:
    assert cut_short(body) == root


def test_a_cut_short_document_is_an_error_not_a_partial_feed() -> None:
    body = (b'<rss version="2.0"><channel><title>t</title><item><title>One</title>'
            b"<link>https://a.example/1</link></item><item><title>Tw")
    with pytest.raises(ParseError, match="cut short: <rss> never closes"):
        parse_feed(body, "https://a.example/rss")


def test_an_item_without_a_title_is_titled_alike_in_rss_and_json_feed() -> None:
    text = "Le conseil municipal a voté le budget participatif des quartiers nord"
    rss = parse_feed(f'<rss version="2.0"><channel><title>t</title><item><description>{text}'
                     '</description><link>https://v.example/1</link></item></channel></rss>'
                     .encode(), "https://v.example/rss")
    json_feed = parse_feed(('{"version": "https://jsonfeed.org/version/1.1", "title": "t", '
                            f'"items": [{{"id": "1", "content_text": "{text}"}}]}}').encode(),
                           "https://v.example/feed.json")
    assert rss.entries[0].title == json_feed.entries[0].title == text
