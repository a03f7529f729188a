"""Text hygiene, URL schemes and the HTML allowlist (nh3, the only HTML sanitizer we use)."""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import nh3

# Characters XML 1.0 forbids (C0 except tab/newline/return, surrogates, U+FFFE/FFFF) and the
# C1 controls: one of them makes feedgen refuse the whole feed and readers choke.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SPACES = re.compile(r"\s+")
_URL_SCHEMES = {"http", "https"}
_HTML_URL_SCHEMES = {"http", "https", "mailto"}
# ammonia's allowlist (no script, style, iframe, object, embed, form, input, svg, math, base,
# meta; no event handlers, srcdoc, formaction or style attributes), minus `cite`, a URL
# attribute that url_schemes does not police.
_ATTRIBUTES = {tag: {a for a in attrs if a != "cite"}
               for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}


# A C1 control in text is a windows-1252 byte read under another label (a feed declared
# ISO-8859-1, or &#128;-&#159;): read as HTML5 and feedparser read it, the character meant.
_C1_AS_CP1252 = {chr(code): bytes([code]).decode("cp1252") for code in range(0x80, 0xA0)
                 if code not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}  # undefined in cp1252


def _replacement(found: re.Match[str]) -> str:
    return _C1_AS_CP1252.get(found.group(), "")


def clean_text(value: str) -> str:
    """Remove characters XML cannot carry (a C1 control becomes the windows-1252 character
    it stands for) and NFC-normalize."""
    return unicodedata.normalize("NFC", _BAD_CHARS.sub(_replacement, value))


def clean_token(value: object) -> str | None:
    """An identifier or media type as the feed wrote it, minus what XML cannot carry."""
    if value is None:
        return None
    return _SPACES.sub(" ", clean_text(str(value))).strip() or None


def plain_text(value: str, is_html: bool) -> str:
    """A single line of plain text: markup removed, entities decoded once, spaces collapsed."""
    text = clean_text(value)
    # no markup, no entity: nothing to remove (the common case, and nh3 is not free)
    if is_html and ("<" in text or "&" in text):
        # decoding can produce forbidden characters again (&#2;): clean twice
        text = clean_text(html.unescape(nh3.clean(text, tags=set())))
    return _SPACES.sub(" ", text).strip()


# What makes nh3's output differ from its input when there is no tag: markup and entities,
# and what its serializer escapes or its parser rewrites (a no-break space, a carriage
# return, a byte order mark); tests/test_sanitize_shortcuts.py holds the two ways to the
# same answers.
_MARKUP = re.compile("[<>&\r\xa0\ufeff]")


def clean_html(value: str, base: str | None = None) -> str:
    """Allowlist-sanitize an HTML fragment for republishing.

    Relative URLs are resolved against ``base`` (they would otherwise point into our hub
    once republished) and dropped when there is no http(s) base.
    """
    text = clean_text(value)
    if not _MARKUP.search(text):  # plain text: what nh3 would hand back (most RSS summaries)
        return text.strip()
    if base:
        cleaned = nh3.clean(text, attributes=_ATTRIBUTES, url_schemes=_HTML_URL_SCHEMES,
                            link_rel="noopener noreferrer",
                            url_relative=("rewrite_with_base", base))
    else:
        cleaned = nh3.clean(text, attributes=_ATTRIBUTES, url_schemes=_HTML_URL_SCHEMES,
                            link_rel="noopener noreferrer", url_relative="deny")
    return clean_text(cleaned).strip()  # character references may decode to controls


def text_to_html(value: str) -> str:
    """Escape plain text so it can sit where HTML is expected."""
    return html.escape(clean_text(value).strip(), quote=False)


# The plainest absolute http(s) URL (lower-case scheme, a host name with no user or port,
# no path parameters, no empty query or fragment, no spaces), which urljoin and urlsplit
# would hand back unchanged: recognized without them, as they cost a third of reading a
# feed (tests/test_sanitize_shortcuts.py holds both ways to the same answers).
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?:/[^\s;?#]*)?(?:\?[^\s#]+)?(?:#\S+)?",
                        re.ASCII)


def safe_url(value: str | None, base: str | None = None) -> str | None:
    """An absolute http(s) URL, resolved against ``base``, or None."""
    if not value:
        return None
    url = clean_text(value).strip()
    if _PLAIN_URL.fullmatch(url) and (not base or _PLAIN_URL.fullmatch(base)):
        return url
    return _resolved_url(url, base)


def _resolved_url(url: str, base: str | None) -> str | None:
    if base:
        try:
            url = urljoin(base, url)
        except ValueError:  # e.g. a malformed IPv6 literal
            return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in _URL_SCHEMES or not parts.hostname or " " in url:
        return None
    return url


_MIME = re.compile(r"^[A-Za-z0-9][\w!#$&^.+-]{0,126}/[A-Za-z0-9][\w!#$&^.+-]{0,126}$")
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")


def mime_type(value: object) -> str | None:
    """A MIME type ("audio/mpeg"), lower-cased without parameters, or None ("mp3")."""
    token = clean_token(value)
    if token is None:
        return None
    bare = token.split(";", 1)[0].strip().lower()
    return bare if _MIME.match(bare) else None


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}$")


def iri(value: object) -> str | None:
    """An absolute IRI (a scheme, then no spaces or forbidden characters), or None."""
    token = clean_token(value)
    if token is None or not _IRI.match(token):
        return None
    if token[:9].lower() == "urn:uuid:" and not _UUID.match(token[9:]):
        return None  # RFC 4122: the namespace holds UUIDs only (the W3C validator says so)
    return token


def iri_to_uri(url: str) -> str:
    """The URI form of an IRI: IDNA host, non-ASCII percent-encoded as UTF-8 (RSS wants
    URIs). ASCII URLs come back unchanged."""
    if url.isascii():
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        host = quote(host, safe="")
    netloc = host + (f":{parts.port}" if parts.port else "")
    if parts.username:
        netloc = quote(parts.username, safe="") + "@" + netloc
    safe = "/:@!$&'()*+,;=%?#[]~"
    return urlunsplit((parts.scheme, netloc, quote(parts.path, safe=safe),
                       quote(parts.query, safe=safe), quote(parts.fragment, safe=safe)))


_LANGUAGE = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")


def language_tag(value: str | None) -> str | None:
    """A BCP 47-shaped language tag ('en_US' -> 'en-US'), or None when it is not one."""
    if not value:
        return None
    tag = value.strip().replace("_", "-")
    return tag if _LANGUAGE.match(tag) else None


SYNTHESIZED_TITLE = 80  # characters of the text that stand in for a missing title


def title_or_opening(title: str, summary: str | None, content: str | None) -> str:
    """An entry's title, else the opening of its text: one rule for every format's reader
    (an RSS item and a JSON Feed item without a title are stored alike)."""
    return title or plain_text(summary or content or "", True)[:SYNTHESIZED_TITLE].strip()
