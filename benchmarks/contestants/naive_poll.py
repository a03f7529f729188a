"""The naive loop: requests + feedparser, one feed after another, with ETag/Last-Modified
kept in a JSON file so a second run sends conditional requests.

    python naive_poll.py URLS_FILE STATE.json   -> prints the number of entries seen so far
"""

import io
import json
import sys
from pathlib import Path

import feedparser
import requests

state_path = Path(sys.argv[2])
state = json.loads(state_path.read_text()) if state_path.exists() else {}
session = requests.Session()
for url in Path(sys.argv[1]).read_text().split():
    known = state.get(url, {"ids": []})
    headers = {k: v for k, v in (("If-None-Match", known.get("etag")),
                                 ("If-Modified-Since", known.get("modified"))) if v}
    resp = session.get(url, headers=headers, timeout=30)
    if resp.status_code == 304:
        continue
    parsed = feedparser.parse(io.BytesIO(resp.content))
    ids = {e.get("id") or e.get("link") or e.get("title") for e in parsed.entries}
    state[url] = {"etag": resp.headers.get("ETag"), "modified": resp.headers.get(
        "Last-Modified"), "ids": sorted(set(known["ids"]) | ids)}
state_path.write_text(json.dumps(state))
print(sum(len(s["ids"]) for s in state.values()))
