"""The guarded fast path: our own reader over a strict lxml tree, for documents that allow it.

feedparser is pure Python and reads about 2-3 MB/s; lxml builds the tree of the same
documents in C about 50x faster. So a document takes this path only when the gate admits
it: after DOCTYPE stripping (xmlguard) it parses with lxml and no recovery, its root is RSS
2.0 or Atom 1.0, and nothing in it needs feedparser's handling (raw HTML elements in RSS
texts, Atom XHTML texts, xml:base below the root, nested items). Anything else is read by
feedparser (parse.parse_feed), and why is recorded with the feed (ParsedFeed.parser).

The reader takes what feedparser would take, element by element (RSS pubDate is
"published", dc:date "updated", a permalink guid resolves against the base and stands in
for a missing link, "updated" falls back to "published"), and hands it to the one
normalizer with dates as written (dates.read_date). fastfeedparser was measured for this
path and left out (docs/decisions.md): it fills in and cuts fields, so it needed this tree
for every field anyway. tests/test_fastparse.py compares both paths entry by entry over
tests/data/real and counts every known difference.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import partial
from typing import Any
from urllib.parse import urljoin

from lxml import etree

from aggregator.dates import read_date
from aggregator.errors import ParseError
from aggregator.ingest.normalize import (
    RawDate,
    RawEnclosure,
    RawEntry,
    RawFeed,
    RawImage,
    RawText,
    normalize,
    person,
)
from aggregator.ingest.parse.charset import http_charset, undeclared_as_utf8
from aggregator.ingest.parse.feedparser_path import parse_feed, sniff
from aggregator.ingest.parse.xmlguard import UnsafeDocument, make_safe
from aggregator.models import ParsedFeed
from aggregator.sanitize import safe_url

FAST = "lxml"
ATOM = "{http://www.w3.org/2005/Atom}"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_DC_DATE = "{http://purl.org/dc/elements/1.1/}date"
_DC_CREATOR = "{http://purl.org/dc/elements/1.1/}creator"
_MODIFIED = "{http://purl.org/dc/terms/}modified"
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
RSS10 = "{http://purl.org/rss/1.0/}"
_ISSUED = "{http://purl.org/dc/terms/}issued"
_CREATED = "{http://purl.org/dc/terms/}created"
_DC_RIGHTS = "{http://purl.org/dc/elements/1.1/}rights"
_DC_LANGUAGE = "{http://purl.org/dc/elements/1.1/}language"
_MEDIA = "{http://search.yahoo.com/mrss/}"
_DC_SUBJECT = "{http://purl.org/dc/elements/1.1/}subject"
_ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
_STRICT = etree.XMLParser(recover=False, resolve_entities=False, no_network=True,
                          load_dtd=False, huge_tree=False, remove_blank_text=False)
_HTML_KINDS = ("html", "text/html", "xhtml", "application/xhtml+xml")
_HTML_PAGES = ("text/html", "application/xhtml+xml")


def read_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse one feed body by the fast path when it is safe, else by feedparser."""
    if sniff(body) == "json":
        return replace(parse_feed(body, url, content_type), parser="json")
    try:
        declined = _fast_or_why(body, url, content_type)
    except UnsafeDocument as e:
        raise ParseError(str(e)) from e
    except MemoryError:  # raised bare: a kept traceback would keep the tree's memory too
        raise ParseError("document needs more memory than a parse may use") from None
    if isinstance(declined, ParsedFeed):
        return declined
    return replace(parse_feed(body, url, content_type), parser=f"feedparser ({declined})")


def _fast_or_why(body: bytes, url: str, content_type: str | None) -> ParsedFeed | str:
    """The fast path's reading, or why it declined the document."""
    safe = make_safe(undeclared_as_utf8(body, content_type))
    doubt = _charset_doubt(safe, content_type)
    if doubt:
        return doubt
    tree, declined = gate(safe)
    if tree is None:
        return declined
    try:
        return _fast(tree, url)
    except _Declined as e:
        return str(e)
    except MemoryError:
        raise
    except Exception as e:  # a bug of the fast path must not cost the feed: feedparser reads it
        return f"fast path failed: {type(e).__name__}: {e}"


_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)""")
_UTF8 = ("utf-8", "utf8", "us-ascii", "ascii")


def _charset_doubt(body: bytes, content_type: str | None) -> str:
    """Why the encoding lxml would use may not be the document's: an HTTP charset (it
    outranks the declaration, RFC 3023) or a non-UTF-8 declaration on bytes that read as
    UTF-8 (the usual lie). feedparser's encoding fallbacks handle both."""
    http = http_charset(content_type)
    if http and http.lower() not in _UTF8:
        return f"HTTP charset {http}"
    declared = _ENCODING.match(body[:512])
    if declared and declared.group(1).decode().lower() not in _UTF8 and not body.isascii():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return ""
        return f"declared {declared.group(1).decode()}, reads as UTF-8"
    return ""


class _Declined(Exception):
    pass


def gate(body: bytes) -> tuple[Any, str]:
    """(the strict tree, "") when the fast path may read ``body``; (None, why) otherwise."""
    try:
        root = etree.fromstring(body, _STRICT)
    except etree.XMLSyntaxError as e:
        return None, f"not well-formed: {e.msg}"
    except (ValueError, RecursionError) as e:
        return None, f"not readable by lxml: {e}"
    why = _declines(root)
    return (None, why) if why else (root, "")


# Elements feedparser reads into a field the hub keeps and this reader does not: a document
# holding one goes to feedparser, so that both paths read it alike (test_differential.py).
_FOREIGN = {"dc": "http://purl.org/dc/elements/1.1/", "x": "http://www.w3.org/1999/xhtml",
            "m": "http://search.yahoo.com/mrss/", "at": ATOM[1:-1], "it": _ITUNES[1:-1]}
_UNREAD_IN_ITEMS = ("boolean({item}/x:body | {item}/dc:description | {item}/at:author | "
                    "{item}/at:summary | {item}/at:content | {item}/fullitem | "
                    "{item}//m:category | {item}//m:description | {item}/it:summary | "
                    "{item}/it:subtitle)")
_UNREAD_IN_ENTRIES = ("boolean(a:entry/dc:creator | a:entry/dc:subject | a:entry/dc:date | "
                      "a:entry//m:category | a:entry//m:description)")


def _declines(root: Any) -> str:
    if root.tag == "rss":
        if root.get("version") != "2.0":
            return f"RSS version {root.get('version')}"
        if root.xpath("boolean(channel/item/title/* | channel/item/description/*)"):
            return "raw HTML elements in RSS text"
        if root.xpath("boolean(channel/item//item)"):
            return "nested items"
        if root.xpath(_UNREAD_IN_ITEMS.format(item="channel/item"), namespaces=_FOREIGN):
            return "item elements only feedparser reads"
    elif root.tag == f"{_RDF}RDF":
        if root.find(f"{RSS10}channel") is None:
            return "RDF without an RSS 1.0 channel"
        if root.xpath("boolean(r:item/r:title/* | r:item/r:description/*)",
                      namespaces={"r": RSS10[1:-1]}):
            return "raw HTML elements in RSS text"
        if root.xpath(_UNREAD_IN_ITEMS.format(item="r:item"),
                      namespaces={**_FOREIGN, "r": RSS10[1:-1]}):
            return "item elements only feedparser reads"
    elif root.tag == f"{ATOM}feed":
        a = {"a": ATOM[1:-1]}
        if root.xpath("boolean(//a:*[@type='xhtml'])", namespaces=a):
            return "Atom XHTML text"
        if root.xpath("boolean((//a:title | //a:subtitle | //a:summary | //a:content"
                      " | //a:rights)/*)", namespaces=a):
            return "child elements in Atom text"  # markup left unescaped: feedparser keeps it
        if root.xpath("boolean(//a:content[@type and not(@type='text' or @type='html' or "
                      "starts-with(@type, 'text/'))])", namespaces=a):
            return "Atom content of a non-text type"  # base64, say: feedparser decodes it
        if root.xpath(_UNREAD_IN_ENTRIES, namespaces={**_FOREIGN, **a}):
            return "entry elements only feedparser reads"
    else:
        return f"root element {etree.QName(root).localname}"
    if root.xpath("boolean(/*//*/@xml:base)"):
        return "xml:base below the root"
    return ""


def _fast(root: Any, url: str) -> ParsedFeed:
    atom = root.tag == f"{ATOM}feed"
    ns = RSS10 if root.tag == f"{_RDF}RDF" else ""
    items = root.findall(f"{ATOM}entry") if atom else root.findall(f"{ns}item") if ns \
        else root.findall("channel/item")
    http_base = safe_url(url)
    if (declared := root.get(XML_BASE)) is not None:  # as feedparser: it outranks the URL
        http_base = safe_url(urljoin(http_base or "", declared.strip())) or http_base
    fields = _atom_fields(root) if atom else _rss_fields(root, ns)
    language = root.get(XML_LANG) or (None if atom else fields["language"])
    raw = RawFeed(
        format="atom10" if atom else "rss10" if ns else "rss20",
        base=http_base or safe_url(fields["link"]),
        entries=tuple(_atom_entry(item, language, http_base) if atom
                      else _rss_entry(item, language, http_base, ns) for item in items),
        **fields)
    return replace(normalize(raw), parser=FAST)


def _rss_entry(item: Any, language: str | None, base: str | None, ns: str = "") -> RawEntry:
    """What feedparser would take from an RSS 2.0 item (``ns`` "") or an RSS 1.0 one (its
    namespace; the id is rdf:about) own elements, read from the tree."""
    if ns:  # rdf:about is taken as written (feedparser neither resolves nor links it)
        guid_text, permalink = item.get(_RDF + "about"), False
    else:
        guid = item.find("guid")
        guid_text, permalink = (None, False) if guid is None else (guid.text, _permalink(guid))
    link = _stripped(item.findtext(f"{ns}link"))
    if link is None and permalink:
        link = _stripped(guid_text)  # feedparser: a permalink guid stands in for <link>
    # as feedparser reads them: of the elements that mean one date the last one counts, a
    # missing "updated" is the published date, and dcterms:created stands in for neither
    published = _date(_last(item, f"{ns}pubDate", _ISSUED))
    updated = _date(_last(item, _DC_DATE, f"{ATOM}updated", _MODIFIED))
    title = item.find(f"{ns}title")
    return RawEntry(
        guid=_guid(guid_text, base) if permalink else guid_text,
        link=link, enclosures=tuple(
            RawEnclosure(x.get("url"), x.get("type"), x.get("length"))
            for x in item.iterfind(f"{ns}enclosure")), images=_images(item),
        title=_kind(title.text if title is not None else None,
                    "html" if ns else None),  # as feedparser types them
        summary=_kind(item.findtext(f"{ns}description"), "html"),
        content=_kind(item.findtext(_ENCODED), "html"),
        published=published or _date(_last(item, _CREATED)), updated=updated or published,
        language=_lang(title if title is not None else item) or language,
        authors=_rss_authors(item, ns), categories=_rss_categories(item, ns))


def _rss_authors(item: Any, ns: str) -> tuple[str, ...]:
    """dc:creator, else itunes:author, else <author> ("jo@city.example (Jo)" -> "Jo")."""
    for tag in (_DC_CREATOR, _ITUNES + "author", f"{ns}author"):
        names = [_author(x.text) for x in item.iterfind(tag) if x.text and x.text.strip()]
        if names:
            return tuple(names)
    return ()


def _rss_categories(item: Any, ns: str) -> tuple[str, ...]:
    """<category>, dc:subject, itunes:category and itunes:keywords, as feedparser tags them."""
    words = [x.text for x in item.iterfind(f".//{ns}category") if x.text]  # in any wrapper
    words += [x.text for x in item.iterfind(_DC_SUBJECT) if x.text]
    words += [x.get("text") or "" for x in item.iterfind(_ITUNES + "category")]
    for keywords in item.iterfind(_ITUNES + "keywords"):
        words += [w.strip() for w in (keywords.text or "").split(",") if w.strip()]
    return tuple(words)


def _atom_entry(entry: Any, language: str | None, base: str | None) -> RawEntry:
    title, summary, content = (entry.find(f"{ATOM}{n}") for n in ("title", "summary", "content"))
    links = entry.findall(f"{ATOM}link")
    published = _date(entry.findtext(f"{ATOM}published"))
    return RawEntry(
        guid=_guid(entry.findtext(f"{ATOM}id"), base), images=_images(entry),
        link=_html_link(links), title=_typed(title), summary=_typed(summary),
        content=_typed(content),
        published=published,
        updated=_date(entry.findtext(f"{ATOM}updated")) or published,
        authors=_atom_authors(entry),
        categories=tuple(x.get("term") or x.get("label") or ""
                         for x in entry.iterfind(f"{ATOM}category")),
        language=_lang(title if title is not None else entry) or language,
        enclosures=tuple(RawEnclosure(x.get("href"), x.get("type"), x.get("length"))
                         for x in links if x.get("rel") == "enclosure"))


def _author(value: str) -> str:
    """"jo@city.example (Jo Martin)" -> "Jo Martin": normalize.person, on both paths."""
    return person(value)


def _atom_authors(entry: Any) -> tuple[str, ...]:
    """Each author's name, or its email when it has none (as feedparser reads them)."""
    found = []
    for author in entry.iterfind(f"{ATOM}author"):
        name = author.findtext(f"{ATOM}name") or author.findtext(f"{ATOM}email")
        if name is not None:
            found.append(name)
    return tuple(found)


def _permalink(guid: Any) -> bool:
    """isPermaLink, its name in any case (feedparser lowers attribute names, not values)."""
    return next((v for k, v in guid.attrib.items() if k.lower() == "ispermalink"),
                "true") == "true"


def _guid(value: str | None, base: str | None) -> str | None:
    """A permalink id resolves against the base, as feedparser resolves it (and so the
    entry keeps its identity whichever path reads the feed)."""
    if not value or not value.strip() or not base:
        return value
    try:
        return urljoin(base, value.strip())
    except ValueError:
        return value


def _lang(element: Any) -> str | None:
    """The xml:lang in scope at ``element`` (up to, not including, the root)."""
    while element is not None and element.getparent() is not None:
        if (lang := element.get(XML_LANG)) is not None:
            return str(lang)
        element = element.getparent()
    return None


def _typed(element: Any) -> RawText | None:
    if element is None:
        return None
    return _kind(element.text, element.get("type", "text"))


def _html_link(links: list[Any]) -> str | None:
    """An entry's link as feedparser takes it: the last alternate link to an HTML page (a
    link without a type is one); a PDF or a podcast file is not the entry's page."""
    found = [x.get("href") for x in links if x.get("rel", "alternate") == "alternate"
             and (x.get("type") or "text/html").strip().lower() in _HTML_PAGES]
    return found[-1] if found else None


def _stripped(value: str | None) -> str | None:
    return value.strip() or None if value else None


def _atom_fields(head: Any) -> dict[str, Any]:
    """Feed-level fields straight from the strict tree (a handful of elements)."""
    links = head.findall(f"{ATOM}link")
    text = partial(_first_text, head)
    name, email = text(f"{ATOM}author/{ATOM}name"), text(f"{ATOM}author/{ATOM}email")
    return dict(
        id=text(f"{ATOM}id"), title=_typed(head.find(f"{ATOM}title")),
        link=next((x.get("href") for x in links if x.get("rel", "alternate") == "alternate"),
                  links[0].get("href") if links else None),
        self_link=_rel(links, "self"),
        updated=_date(text(f"{ATOM}updated", f"{ATOM}published")),
        language=head.get(XML_LANG), rights=_typed(head.find(f"{ATOM}rights")),
        author=f"{name} ({email})" if name and email else name or email,
        ttl=None, hub=_rel(links, "hub"))


def _rss_fields(root: Any, ns: str) -> dict[str, Any]:
    head = root.find(f"{ns}channel")
    if head is None:
        raise _Declined("RSS without a channel")
    links = head.findall(f"{ATOM}link")
    text = partial(_first_text, head)
    return dict(
        id=None, title=_kind(text(f"{ns}title"), None), link=text(f"{ns}link"),
        self_link=_rel(links, "self"),
        updated=_date(text(f"{ns}lastBuildDate", f"{ns}pubDate", _DC_DATE)),
        language=text(f"{ns}language", _DC_LANGUAGE),
        rights=_kind(text(f"{ns}copyright", _DC_RIGHTS), None),
        author=text(f"{ns}managingEditor", _DC_CREATOR), ttl=text(f"{ns}ttl"),
        hub=_rel(links, "hub"))


def _first_text(head: Any, *names: str) -> str | None:
    return next((v.strip() for n in names if (v := head.findtext(n)) and v.strip()), None)


def _rel(links: list[Any], rel: str) -> str | None:
    return next((x.get("href") for x in links if x.get("rel") == rel), None)


def _kind(value: str | None, declared: str | None) -> RawText | None:
    """A text: RSS titles are guessed (often escaped HTML); Atom says its type."""
    if not value or not value.strip():
        return None
    if declared is None:
        return RawText(value, "guess")
    return RawText(value, "html" if declared in _HTML_KINDS else "text")


def _last(item: Any, *tags: str) -> str | None:
    """The text of the last child of ``item`` named one of ``tags``, in document order."""
    found = [x.text for x in item.iterchildren(*tags)]
    return found[-1] if found else None


def _date(text: str | None) -> RawDate | None:
    """As written; read by dates.read_date. Whole seconds, as feedparser keeps them, so a
    feed that moves between the two paths never looks changed."""
    if not text or not text.strip():
        return None
    moment = read_date(text.strip())
    return RawDate(text.strip(), moment.replace(microsecond=0) if moment else None)


def _images(item: Any) -> tuple[RawImage, ...]:
    """media:thumbnail first, then media:content, wherever in the item they are (its
    media:group, a media:content holding its own thumbnail): as feedparser collects them."""
    thumbs = item.findall(f".//{_MEDIA}thumbnail")
    media = item.findall(f".//{_MEDIA}content")
    return tuple([RawImage(x.get("url"), x.get("width"), x.get("height")) for x in thumbs]
                 + [RawImage(x.get("url"), x.get("width"), x.get("height"),
                             x.get("medium") or x.get("type")) for x in media])
