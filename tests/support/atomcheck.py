"""Validate a published Atom document: RFC 4287 RELAX NG schema, then re-read by feedparser."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import Any

import feedparser
from lxml import etree

SCHEMA = Path(__file__).resolve().parent.parent / "data" / "atom.rng"
NS = {"a": "http://www.w3.org/2005/Atom"}


@cache
def _schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(SCHEMA)))


def assert_valid_atom(data: bytes) -> etree._Element:
    doc = etree.fromstring(data)
    schema = _schema()
    assert schema.validate(doc), str(schema.error_log)
    return doc


def reread(data: bytes) -> Any:
    parsed = feedparser.parse(io.BytesIO(data))
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed
