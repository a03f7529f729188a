"""Hypothesis: random and mutated feed documents never escape as an exception from a cycle,
and whatever is published is schema-valid Atom."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from conftest import EXAMPLES, write_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.atomcheck import assert_valid_atom

from aggregator import Aggregator
from aggregator.config import load_settings
from aggregator.errors import ParseError
from aggregator.ingest.parse.feedparser_path import parse_feed
from aggregator.store import open_store

pytestmark = pytest.mark.slow  # Hypothesis runs whole cycles

BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
SEEDS = [p.read_bytes() for p in sorted(EXAMPLES.glob("*.xml"))]
PIECES = [b"<item>", b"</item>", b"<entry>", b"</entry>", b"<title>", b"</title>",
          b"<link>", b"</link>", b"&amp;", b"&#x1;", b"&#99999999;", b"&bogus;", b"<![CDATA[",
          b"]]>", b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]>", b"\x00", b"\xff\xfe", b"\xc3",
          b"<script>alert(1)</script>", b"javascript:alert(1)", b"<pubDate>", b"</pubDate>",
          b"31/02/1899", b"<?xml version='1.0' encoding='utf-16'?>", b'{"version":', b"]",
          b"<description>&lt;img src=x onerror=alert(1)&gt;</description>", b"\xe2\x80\xa8"]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """An example feed with a few random edits: deletions, insertions, replacements."""
    doc = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(doc)))
        cut = draw(st.integers(0, 40))
        insert = draw(st.one_of(st.sampled_from(PIECES), st.binary(max_size=12)))
        doc[at:at + cut] = insert
    return bytes(doc)


documents = st.one_of(mutated(), st.binary(max_size=300),
                      st.lists(st.sampled_from(PIECES), max_size=30).map(b"".join))


@settings(max_examples=300, deadline=None)
@given(documents)
def test_parse_raises_only_parse_errors(body: bytes) -> None:
    try:
        feed = parse_feed(body, "https://fuzz.example/feed.xml")
    except ParseError as e:
        assert str(e)  # a reason an operator can read
        return
    for entry in feed.entries:  # whatever was read is already clean
        assert entry.link is None or entry.link.startswith(("http://", "https://"))
        assert not BAD_CHARS.search(entry.title + (entry.summary or "") + (entry.content or ""))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(documents, min_size=1, max_size=3))
def test_cycles_never_raise_and_publish_valid_atom(bodies: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sources = []
        for i, body in enumerate(bodies):
            (root / f"f{i}.xml").write_bytes(body)
            sources.append({"id": f"f{i}", "kind": "member", "path": f"f{i}.xml"})
        config = write_config(root, sources)
        with Aggregator(load_settings(config), store=open_store(None), parse_processes=0) as agg:
            report = agg.update()
            agg.update()  # again: updates of whatever was stored
            agg.publish()
            assert len(report.results) == len(bodies)
            for path in agg.settings.output.dir.glob("*.atom"):
                assert_valid_atom(path.read_bytes())
