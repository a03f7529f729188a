"""Near-duplicate detection: the same story republished under another link.

A story's fingerprint is the set of word bigrams of its folded title and the opening of its
text. Two entries from different sources, published within WINDOW of each other, whose
fingerprints have a Jaccard similarity of at least THRESHOLD tell the same story. The
threshold comes from real data: benchmarks/near_duplicates.py measures same-story pairs and
different-story pairs of the real-world corpus (see docs/decisions.md).
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from .models import StoredEntry
from .sanitize import plain_text
from .taxonomy import fold

THRESHOLD = 0.4  # see benchmarks/near_duplicates.py: same story >= 0.52, other stories <= 0.18
WINDOW = timedelta(days=7)
OPENING_WORDS = 60
MIN_WORDS = 8  # shorter texts (a bare title) are never judged similar: too little evidence

Fingerprint = frozenset[str]


def fingerprint(title: str, html: str | None) -> Fingerprint:
    words = fold(title).split() + fold(plain_text(html or "", True)).split()[:OPENING_WORDS]
    if len(words) < MIN_WORDS:
        return frozenset()
    return frozenset(f"{a} {b}" for a, b in itertools.pairwise(words))


def of_entry(e: StoredEntry) -> Fingerprint:
    return fingerprint(e.title, e.summary or e.content)


def similarity(a: Fingerprint, b: Fingerprint) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
