"""Make an XML feed body safe to hand to a parser: no DOCTYPE, so no entity declarations.

Entity declarations live in the DOCTYPE's internal subset, and expand at parse time: a 40 KB
"billion laughs" document can grow into gigabytes, and an external entity or DTD can read
local files or reach the network. Feeds never need their own DTD: every DOCTYPE is removed
before parsing. The prolog is looked at in the document's own encoding (UTF-16 and UTF-32
included, by BOM or by byte pattern), so an encoding cannot hide a DOCTYPE. The predefined
entities (&amp; &lt; ...) and character references need no DOCTYPE and keep working.
"""

from __future__ import annotations

import codecs
import re

# (leading bytes, codec, whether those bytes are a BOM rather than the first "<")
_WIDE = [
    (codecs.BOM_UTF32_LE, "utf-32-le", True), (codecs.BOM_UTF32_BE, "utf-32-be", True),
    (b"<\x00\x00\x00", "utf-32-le", False), (b"\x00\x00\x00<", "utf-32-be", False),
    (codecs.BOM_UTF16_LE, "utf-16-le", True), (codecs.BOM_UTF16_BE, "utf-16-be", True),
    (b"<\x00", "utf-16-le", False), (b"\x00<", "utf-16-be", False),
]
_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9A-Fa-f]+)|([0-9]+));")


def prolog_codec(body: bytes) -> tuple[str, bytes]:
    """The codec to read the document with and its BOM (latin-1 and no BOM for every
    ASCII-compatible encoding: one byte per char, so the bytes come back unchanged)."""
    for lead, codec, is_bom in _WIDE:
        if body.startswith(lead):
            return codec, lead if is_bom else b""
    return "latin-1", b""


def make_safe(body: bytes) -> bytes:
    """The body without DOCTYPEs and without character references to characters XML forbids
    (feedparser raises on some of those, e.g. &#99999999999; or &#xD800;)."""
    codec, bom = prolog_codec(body)
    text = body[len(bom):].decode(codec, errors="replace")
    cleaned = _CHAR_REF.sub(_keep_valid_ref, _without_doctypes(text))
    if cleaned == text:
        return body
    return bom + cleaned.encode(codec, errors="replace")  # same encoding, same BOM


def _keep_valid_ref(m: re.Match[str]) -> str:
    digits = m.group(1) or m.group(2)
    if len(digits) > 8:
        return ""
    code = int(digits, 16) if m.group(1) else int(digits)
    return m.group(0) if _xml_char(code) else ""


def _xml_char(code: int) -> bool:
    # XML 1.0 section 2.2 Char production
    return (code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
            or 0x10000 <= code <= 0x10FFFF)


class UnsafeDocument(ValueError):
    """A DOCTYPE that never ends: nothing after it can be read safely."""


# Markup that can hide "<!DOCTYPE" as text (comments, CDATA, processing instructions), and
# the DOCTYPE itself; found in document order, so a DOCTYPE quoted inside an article's
# CDATA stays text and a real one is removed wherever it stands.
_MARKUP = re.compile(r"<!--|<!\[CDATA\[|<\?|<!DOCTYPE", re.IGNORECASE)
_CLOSERS = {"<!--": "-->", "<![cdata[": "]]>", "<?": "?>"}


def _without_doctypes(text: str) -> str:
    out: list[str] = []
    pos = 0
    while (m := _MARKUP.search(text, pos)) is not None:
        closer = _CLOSERS.get(m.group(0).lower())
        if closer is None:  # a DOCTYPE
            out.append(text[pos:m.start()])
            pos = _doctype_end(text, m.end())
            continue
        end = text.find(closer, m.end())
        if end < 0:
            # unterminated: a strict parser stops here; a lenient one might not, so any
            # DOCTYPE in the rest is still removed
            out.append(text[pos:m.end()])
            pos = m.end()
            continue
        out.append(text[pos:end + len(closer)])
        pos = end + len(closer)
    out.append(text[pos:])
    return "".join(out)


def _doctype_end(text: str, start: int) -> int:
    """Where the DOCTYPE that starts before ``start`` ends (quotes and [subset] respected)."""
    depth, quote = 0, ""
    for i in range(start, len(text)):
        c = text[i]
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth = max(0, depth - 1)
        elif c == ">" and depth == 0:
            return i + 1
    raise UnsafeDocument("a DOCTYPE that never ends: the document cannot be read safely")


_ROOT = re.compile(r"<([A-Za-z_][\w.-]*(?::[\w.-]+)?)")
_SKIP = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)?", re.DOTALL | re.IGNORECASE)


def cut_short(body: bytes) -> str | None:
    """The root element's name when the document ends before that element closes (a body
    cut short by its server or its connection), else None."""
    codec, bom = prolog_codec(body)
    text = body[len(bom):].decode(codec, errors="replace")
    pos = 0
    while (skipped := _SKIP.match(text, pos)) is not None and skipped.end() > pos:
        pos = skipped.end()  # the prolog: declaration, comments, DOCTYPE
    root = _ROOT.match(text, pos)
    if root is None:
        return None
    name = root.group(1)
    start_end = text.find(">", root.end())
    if start_end < 0:
        return name
    if text[start_end - 1] == "/":  # <rss/>: nothing to close
        return None
    return None if text.find("</" + name, start_end) >= 0 else name
