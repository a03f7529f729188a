"""The encoding of an XML feed that declares none and is not UTF-8.

XML says an undeclared document is UTF-8; feedparser then falls back to windows-1252, which
turns a Japanese (EUC-JP, Shift_JIS), Chinese, Korean or Cyrillic feed into mojibake. Such a
body is detected with charset-normalizer (already installed with requests) and re-encoded as
UTF-8. Only undeclared bodies are touched: a declared-but-wrong document keeps feedparser's
windows-1252 fallback (the usual real-world lie), and a guess of a Western single-byte codec
is left to that fallback too, since a few accented letters say little about which one.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']""", re.IGNORECASE)
_CHARSET = re.compile(r"charset\s*=", re.IGNORECASE)
_CHARSET_LABEL = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", re.IGNORECASE)
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE,
         codecs.BOM_UTF32_BE, b"<\x00", b"\x00<")
# charset-normalizer names for which windows-1252 is as good a reading as any
_WESTERN = {"ascii", "utf_8", "cp1252", "latin_1", "iso8859_15", "cp1250", "iso8859_2",
            "mac_roman", "mac_latin2", "cp850", "cp437", "iso8859_13", "cp1257",
            "iso8859_4", "iso8859_10", "iso8859_3", "iso8859_9", "cp1254", "iso8859_14",
            "iso8859_16"}
_SAMPLE = 64 * 1024  # enough text to tell the encoding; detection cost stays flat


def http_charset(content_type: str | None) -> str | None:
    """The charset label an HTTP Content-Type names, as written; None when it names none."""
    found = _CHARSET_LABEL.search(content_type or "")
    return found.group(1) if found else None


def undeclared_as_utf8(body: bytes, content_type: str | None) -> bytes:
    """The body re-encoded as UTF-8 when it declares no encoding and reads as a non-Western
    one; otherwise the body unchanged."""
    if body.startswith(_BOMS) or _DECLARED.match(body[:1024]):
        return body
    if content_type and _CHARSET.search(content_type):
        return body
    try:
        body.decode("utf-8")
        return body
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(body[:_SAMPLE]).best()
    if best is None or best.encoding in _WESTERN:
        return body
    try:
        return body.decode(best.encoding).encode("utf-8")
    except (UnicodeDecodeError, LookupError):
        return body  # the sample read well, the rest did not: keep the usual fallback
