"""A corpus built to tell the two parse paths apart (issue 27): every item and entry
construct feedparser reads into a field the hub keeps, every encoding lie, every date form
of the dates module, in RSS 2.0, RSS 1.0 and Atom. Written for this project."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

NS = ('xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
      'xmlns:atom="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/" '
      'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
      'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
      'xmlns:xhtml="http://www.w3.org/1999/xhtml"')

RSS_ITEM = {  # construct -> what an item holds besides its title, link and date
    "plain": "<description>Plain words.</description>",
    "html description": "<description>&lt;p&gt;Council &lt;b&gt;votes&lt;/b&gt;.&lt;/p&gt;"
                        "</description>",
    "cdata description": "<description><![CDATA[<p>In <em>CDATA</em>.</p>]]></description>",
    "content:encoded": "<description>Short.</description><content:encoded><![CDATA[<p>Long "
                       "<img src=\"https://city.example/i.jpg\"> text.</p>]]></content:encoded>",
    "xhtml:body": "<xhtml:body><p>XHTML body text.</p></xhtml:body>",
    "fullitem": "<fullitem>&lt;p&gt;Full item.&lt;/p&gt;</fullitem>",
    "dc:description": "<dc:description>Dublin Core description.</dc:description>",
    "dc:title": "<dc:title>A Dublin Core title</dc:title>",
    "atom:content": "<atom:content type=\"html\">&lt;p&gt;Atom content.&lt;/p&gt;</atom:content>",
    "atom:summary": "<atom:summary>Atom summary.</atom:summary>",
    "atom:author": "<atom:author><atom:name>Ana Atom</atom:name></atom:author>",
    "media:title": "<media:title>A media title</media:title>",
    "media:description": "<media:description>Media description.</media:description>",
    "description and media:description": "<description>Own words.</description>"
                                         "<media:description>Media words.</media:description>",
    "media:category": "<media:category>Transport</media:category>",
    "media:thumbnail": "<media:thumbnail url=\"https://city.example/t.jpg\" width=\"320\" "
                       "height=\"180\"/>",
    "media:content image": "<media:content url=\"https://city.example/m.jpg\" "
                           "medium=\"image\"/>",
    "itunes:summary": "<itunes:summary>Podcast summary.</itunes:summary>",
    "itunes:subtitle": "<itunes:subtitle>Podcast subtitle.</itunes:subtitle>",
    "itunes:author": "<itunes:author>Pod Caster</itunes:author>",
    "itunes:keywords": "<itunes:keywords>trams, buses</itunes:keywords>",
    "enclosure image": "<enclosure url=\"https://city.example/e.jpg\" type=\"image/jpeg\" "
                       "length=\"1\"/>",
    "author Name (email)": "<author>Jane Doe (jane@city.example)</author>",
    "author email (Name)": "<author>jane@city.example (Jane Doe)</author>",
    "author email": "<author>jane@city.example</author>",
    "dc:creator x2": "<dc:creator>Ana</dc:creator><dc:creator>Ben</dc:creator>",
    "categories": "<category>Mobility</category><category domain=\"x\">Transport</category>"
                  "<dc:subject>Trams</dc:subject>",
    "guid permalink": "<guid>https://city.example/g/1</guid>",
    "guid not permalink": "<guid isPermaLink=\"false\">city-42</guid>",
    "comments and source": "<comments>https://city.example/c</comments><source "
                           "url=\"https://other.example/f\">Other</source>",
}
ATOM_ENTRY = {
    "plain": "<summary>Plain words.</summary>",
    "html content": "<content type=\"html\">&lt;p&gt;Council votes.&lt;/p&gt;</content>",
    "dc:title": "<dc:title>A Dublin Core title</dc:title>",
    "dc:creator": "<dc:creator>Dee Creator</dc:creator>",
    "dc:subject": "<dc:subject>Trams</dc:subject>",
    "dc:date": "<dc:date>2021-06-08T10:00:00Z</dc:date>",
    "media:category": "<media:category>Transport</media:category>",
    "media:thumbnail": "<media:thumbnail url=\"https://city.example/t.jpg\"/>",
    "two authors": "<author><name>Ana</name><email>ana@city.example</email></author>"
                   "<author><name>Ben</name></author>",
    "author email only": "<author><email>ana@city.example</email></author>",
    "categories": "<category term=\"mobility\" label=\"Mobility\"/><category term=\"trams\"/>",
    "published and updated": "<published>2021-06-07T08:00:00Z</published>",
    "media:group": "<media:group><media:title>Clip</media:title><media:description>Video "
                   "description.</media:description><media:thumbnail url=\"https://city."
                   "example/v.jpg\"/></media:group>",
    "author name and email": "<author><name>Ana</name><email>ana@city.example</email>"
                             "</author>",
}
RSS10_ITEM = {
    "plain": "<description>Plain words.</description>",
    "content:encoded": "<content:encoded><![CDATA[<p>Long text.</p>]]></content:encoded>",
    "dc:creator": "<dc:creator>Dee Creator</dc:creator>",
    "dc:subject": "<dc:subject>Trams</dc:subject>",
    "dc:description": "<dc:description>Dublin Core description.</dc:description>",
    "media:thumbnail": "<media:thumbnail url=\"https://city.example/t.jpg\"/>",
}
DATES = ["Mon, 07 Jun 2021 10:00:00 +0200", "Mon, 7 Jun 2021 10:00 GMT",
         "2021-06-07T10:00:00+02:00", "2021-06-07", "07 Jun 2021 10:00:00 +0200",
         "lun., 07 juin 2021 10:00:00 +0200", "mié., 9 jun. 2021 09:00:00 +0200",
         "7 juin 2021", "07/06/2021", "Monday, June 7, 2021", "2021-06-07 10:00:00",
         "Mon, 07 Jun 2021 10:00:00 CEST", "not a date", ""]
ENCODINGS = ["utf-8", "iso-8859-1 with windows-1252 bytes", "windows-1252", "utf-16"]
TEXT = "Caf\u00e9 \u2013 \u201cvote\u201d 30 \u20ac"  # survives windows-1252, not latin-1


@dataclass(frozen=True)
class Document:
    name: str
    body: bytes
    content_type: str


def rss_item(extra: str, date: str, i: int) -> str:
    when = f"<pubDate>{date}</pubDate>" if date else ""
    return (f"<item><title>{TEXT} {i}</title><link>https://city.example/{i}</link>{when}"
            f"{extra}</item>")


def rss10_item(extra: str, date: str, i: int) -> str:
    when = f"<dc:date>{date}</dc:date>" if date else ""
    return (f'<item rdf:about="https://city.example/{i}"><title>{TEXT} {i}</title>'
            f"<link>https://city.example/{i}</link>{when}{extra}</item>")


def atom_entry(extra: str, date: str, i: int) -> str:
    when = f"<updated>{date}</updated>" if date else ""
    return (f"<entry><id>tag:city.example,2021:{i}</id><title>{TEXT} {i}</title>"
            f"<link rel=\"alternate\" href=\"https://city.example/{i}\"/>{when}{extra}</entry>")


def encode(text: str, encoding: str) -> tuple[bytes, str]:
    """The document's bytes and its declared label."""
    if encoding == "iso-8859-1 with windows-1252 bytes":
        return text.replace('encoding="E"', 'encoding="iso-8859-1"').encode("cp1252"), \
            "iso-8859-1"
    label = encoding
    return text.replace('encoding="E"', f'encoding="{label}"').encode(
        "cp1252" if label == "windows-1252" else label), label


def documents() -> Iterator[Document]:
    """One document per construct, format and encoding (a construct that sends its
    document to feedparser must not hide the others), and one per date form."""
    for fmt, constructs in (("rss20", RSS_ITEM), ("rss10", RSS10_ITEM),
                            ("atom10", ATOM_ENTRY)):
        entry = {"rss20": rss_item, "rss10": rss10_item, "atom10": atom_entry}[fmt]
        for i, (name, extra) in enumerate(constructs.items()):
            date = DATES[i % 4] if fmt == "rss20" else "2021-06-07T10:00:00+02:00"
            for encoding in ENCODINGS:
                yield _doc(fmt, encoding, [entry(extra, date, 2 * i), entry("", date, 2 * i + 1)],
                           name)
        for i, date in enumerate(DATES):  # every date form, alone in an item
            yield _doc(fmt, "utf-8", [entry("", date, i)], f"date {date!r}")


def _doc(fmt: str, encoding: str, items: list[str], what: str = "") -> Document:
    if fmt == "rss20":
        text = (f'<?xml version="1.0" encoding="E"?><rss version="2.0" {NS}><channel>'
                f"<title>City</title><link>https://city.example/</link>{''.join(items)}"
                "</channel></rss>")
        kind = "application/rss+xml"
    elif fmt == "rss10":
        items_list = "".join(f'<rdf:li rdf:resource="https://city.example/{i}"/>'
                             for i in range(len(items)))
        text = (f'<?xml version="1.0" encoding="E"?><rdf:RDF xmlns:rdf="http://www.w3.org/'
                f'1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" {NS}>'
                '<channel rdf:about="https://city.example/"><title>City</title><link>https://'
                f"city.example/</link><items><rdf:Seq>{items_list}</rdf:Seq></items></channel>"
                f"{''.join(items)}</rdf:RDF>")
        kind = "application/rdf+xml"
    else:
        text = (f'<?xml version="1.0" encoding="E"?><feed xmlns="http://www.w3.org/2005/Atom"'
                f' {NS}><id>tag:city.example,2021:feed</id><title>City</title>'
                "<updated>2021-06-07T10:00:00Z</updated><link href=\"https://city.example/\"/>"
                f"{''.join(items)}</feed>")
        kind = "application/atom+xml"
    body, _ = encode(text, encoding)
    return Document(f"{fmt} {encoding} {what}".strip(), body, kind)
