"""The real-world corpus (tests/data/real): poll every file over loopback HTTP in one cycle.

Used by test_corpus.py, and by make_golden.py to (re)write the golden expectations after a
reviewed change in behaviour.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from conftest import DATA, FeedServer, Response, write_config
from lxml import etree

from aggregator import Aggregator
from aggregator.config import load_settings
from aggregator.dates import utcnow

REAL = DATA / "real"
GOLDEN = REAL / "golden.json"
SERVER = "http://corpus.server"
TYPES = {".json": "application/feed+json", ".atom": "application/atom+xml",
         ".rdf": "application/rdf+xml"}


def corpus_files() -> list[str]:
    return sorted(str(p.relative_to(REAL)) for p in REAL.rglob("*")
                  if p.is_file() and p.suffix in (".xml", ".atom", ".rdf", ".json", ".gz")
                  and p != GOLDEN)


def source_id(rel: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", rel.lower()).strip("-")[:60]


def poll_corpus(tmp_path: Path, server: FeedServer,
                clock: Callable[[], datetime] | None = None) -> Aggregator:
    sources = []
    for rel in corpus_files():
        headers = {"Content-Type": TYPES.get(Path(rel).suffix, "application/xml")}
        if rel.endswith(".gz"):  # stored gzipped: served as the server would, encoded
            headers["Content-Encoding"] = "gzip"
        server.routes[f"/{rel}"] = Response(200, (REAL / rel).read_bytes(), headers)
        sources.append({"id": source_id(rel), "name": rel, "kind": "member",
                        "url": server.url(f"/{rel}")})
    config = write_config(tmp_path, sources, output={"dir": "feeds", "entries_per_feed": 5000},
                          poll={"workers": 8, "per_host": 8, "timeout": "20s",
                                "allow_hosts": ["127.0.0.1"]})
    agg = Aggregator(load_settings(config), parse_processes=2, clock=clock or utcnow)
    agg.update()
    agg.publish()
    return agg


def observed(agg: Aggregator, server_base: str) -> dict[str, Any]:
    """What the store holds per corpus file, in the golden file's shape (links resolved
    against the test server's random port are written with SERVER in its place)."""
    states = agg.store.source_states()
    out: dict[str, Any] = {}
    for rel in corpus_files():
        sid = source_id(rel)
        state = states[sid]
        if state.last_error:
            out[rel] = {"error": state.last_error}
            continue
        entries = agg.store.entries(source_id=sid, include_duplicates=True)
        # placed dates near the poll's moment (no dated neighbour) vary run to run: undated
        near = timedelta(seconds=len(entries))
        undated = {e.key for e in entries if abs(e.first_seen - e.published) <= near}
        out[rel] = {"entries": len(entries), "undated": len(undated),
                    "samples": [{"title": e.title,
                                 "link": e.link.replace(server_base, SERVER) if e.link else None,
                                 "published": "undated" if e.key in undated
                                 else e.published.isoformat()} for e in entries[:3]]}
    return out


def raw_count(rel: str) -> int | None:
    """Entries in the file by a count that does not use our parser (None: cannot tell)."""
    body = (REAL / rel).read_bytes()
    if rel.endswith(".gz"):
        body = gzip.decompress(body)
    if rel.endswith(".json"):
        try:
            doc = json.loads(body, strict=False)
        except ValueError:
            return None
        return len(doc["items"]) if isinstance(doc.get("items"), list) else None
    try:
        root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None
    return sum(1 for el in root.iter() if isinstance(el.tag, str)
               and etree.QName(el).localname in ("item", "entry"))
