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

_WIDE = [  # (byte signature of "<" or BOM, codec)
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"), (b"\x00\x00\x00<", "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
    (b"<\x00", "utf-16-le"), (b"\x00<", "utf-16-be"),
]
_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)


def prolog_codec(body: bytes) -> str:
    """The codec to read the prolog with; latin-1 for every ASCII-compatible encoding."""
    head = body.lstrip(b" \t\r\n") if not body.startswith((b"\x00", b"\xff", b"\xfe")) else body
    for signature, codec in _WIDE:
        if head.startswith(signature):
            return codec
    return "latin-1"  # one byte per char: offsets in the text are offsets in the bytes


def strip_doctype(body: bytes) -> tuple[bytes, bool]:
    """The body without its DOCTYPE declaration (internal subset included), and whether
    one was removed. Bodies without a DOCTYPE come back unchanged, byte for byte."""
    codec = prolog_codec(body)
    text = body.decode(codec, errors="replace") if codec != "latin-1" else body.decode(codec)
    found = False
    while True:
        span = _doctype_span(text)
        if span is None:
            break
        text = text[:span[0]] + text[span[1]:]
        found = True
    if not found:
        return body, False
    if codec == "latin-1":
        return text.encode("latin-1"), True
    bom = codecs.BOM_UTF16_LE if codec.startswith("utf-16") else codecs.BOM_UTF32_LE
    little = codec.replace("-be", "-le")
    return bom + text.lstrip("\ufeff").encode(little), True


def _doctype_span(text: str) -> tuple[int, int] | None:
    """Where the next DOCTYPE starts and ends (quotes and [subset] respected).

    Every one is removed, wherever it is: a comment or CDATA section before it must not be
    able to make it look like content; one inside HTML in CDATA is only lost markup."""
    m = _DOCTYPE.search(text)
    if m is None:
        return None
    depth, quote = 0, ""
    for i in range(m.end(), len(text)):
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
            return m.start(), i + 1
    return m.start(), len(text)  # unterminated: everything after it is unsafe
