"""Where the story rule stands: precision and recall on the real corpus and on a look-alike
network, for the rule in use (aggregator/similarity.py) and for the word-bigram Jaccard
>= 0.4 rule it replaced.

    .venv/bin/python benchmarks/near_duplicates.py

Real corpus (tests/data/real): the corpus holds the same sites in two renditions (RSS and
Atom, JSON Feed and Atom, two snapshots); entries with the same canonical link in the two
files are one story written by two generators: the shape of a cross-post under another link.
Different-story pairs: every pair of entries from different files, with different links,
published within the window.

Look-alike network (tests/support/lookalike.py, 5,388 entries): ground truth is known. Same-story
pairs are the partners' republished copies (the text rule only: copies that link to the
member's page are left to the link rule); different-story pairs are every pair of different
stories, from different sources, within the window (counted exhaustively for the rule in
use through its fingerprints, sampled for the Jaccard rule).
"""

from __future__ import annotations

import itertools
import random
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import lookalike  # noqa: E402

from aggregator.config.taxonomy import fold  # noqa: E402
from aggregator.errors import ParseError  # noqa: E402
from aggregator.ingest.parse.feedparser_path import parse_feed  # noqa: E402
from aggregator.models import EntryData  # noqa: E402
from aggregator.sanitize import plain_text  # noqa: E402
from aggregator.stories.plan import canonical_url  # noqa: E402
from aggregator.stories.similarity import WINDOW, republished, text_of  # noqa: E402

REAL = ROOT / "tests" / "data" / "real"
PAIRS = [("rss2/artificial-truth-rss.xml", "atom/artificial-truth-atom.xml"),
         ("rss2/wordpress-norm2782-rss2.xml", "atom/wordpress-norm2782-atom.xml"),
         ("jsonfeed/daringfireball.json", "atom/daringfireball-atom-named-rss.xml"),
         ("messy/cercle-psy-fr-no-decl-latin1.xml", "messy/cercle-psy-fr-older-snapshot.xml")]
Rule = Callable[[EntryData, EntryData], bool]


def entries(rel: str) -> list[EntryData]:
    try:
        return list(parse_feed((REAL / rel).read_bytes(), "https://corpus.example/" + rel).entries)
    except ParseError:
        return []


def text(e: EntryData) -> str | None:
    return e.summary or e.content


def new_rule(a: EntryData, b: EntryData) -> bool:
    return republished(text_of(a.title, text(a)), text_of(b.title, text(b))) is not None


def _bigrams(e: EntryData) -> frozenset[str]:
    words = fold(e.title).split() + fold(plain_text(text(e) or "", True)).split()[:60]
    return frozenset(f"{x} {y}" for x, y in itertools.pairwise(words)) if len(words) >= 8 \
        else frozenset()


def old_rule(a: EntryData, b: EntryData) -> bool:
    fa, fb = _bigrams(a), _bigrams(b)
    return bool(fa and fb) and len(fa & fb) / len(fa | fb) >= 0.4


def report(name: str, same: list[tuple[EntryData, EntryData]],
           different: list[tuple[EntryData, EntryData]], scale: float = 1.0) -> None:
    print(f"{name}: {len(same)} same-story pairs, {round(len(different) * scale)} "
          f"different-story pairs" + (f" (sampled 1 in {scale:.0f})" if scale > 1 else ""))
    for label, rule in (("rule in use", new_rule), ("Jaccard>=0.4", old_rule)):
        found = sum(rule(a, b) for a, b in same)
        wrong = round(sum(rule(a, b) for a, b in different) * scale)
        precision = found / (found + wrong) if found + wrong else 1.0
        print(f"  {label:<13} recall {found}/{len(same)} = {found / max(1, len(same)):.3f}"
              f"   wrongly merged {wrong}   precision {precision:.4f}")


def real_corpus() -> None:
    same = []
    for a, b in PAIRS:
        by_link = {canonical_url(e.link): e for e in entries(b) if e.link}
        same += [(e, by_link[canonical_url(e.link)]) for e in entries(a)
                 if canonical_url(e.link) in by_link]
    files = sorted(str(p.relative_to(REAL)) for p in REAL.rglob("*.*")
                   if p.suffix in (".xml", ".atom", ".rdf", ".json") and p.name != "golden.json")
    dated = sorted(((rel, e) for rel in files for e in entries(rel) if e.published),
                   key=lambda x: x[1].published)  # type: ignore[arg-type,return-value]
    different = []
    for i, (ra, ea) in enumerate(dated):
        for rb, eb in dated[i + 1:]:
            if eb.published - ea.published > WINDOW:  # type: ignore[operator]
                break
            if ra != rb and canonical_url(ea.link) != canonical_url(eb.link):
                different.append((ea, eb))
    report("real corpus", same, different)


def look_alikes() -> None:
    feeds = lookalike.network()
    items = [(f.source_id, i) for f in feeds for i in f.items]
    data = {id(i): EntryData(guid=i.guid, link=i.link, title=i.title, summary=i.summary,
                             published=i.published) for _, i in items}
    by_story: dict[str, list[tuple[str, lookalike.Item]]] = {}
    for s, i in items:
        by_story.setdefault(i.story, []).append((s, i))
    same = [(data[id(a[1])], data[id(b[1])]) for group in by_story.values()
            for a, b in itertools.combinations(group, 2)
            if canonical_url(a[1].link) != canonical_url(b[1].link)]
    items.sort(key=lambda x: x[1].published)
    rng = random.Random(1)
    sample = 20
    different = []
    for k, (sa, a) in enumerate(items):
        for sb, b in items[k + 1:]:
            if b.published - a.published > timedelta(days=7):
                break
            if sa != sb and a.story != b.story and rng.randrange(sample) == 0:
                different.append((data[id(a)], data[id(b)]))
    report("look-alike network", same, different, scale=sample)


if __name__ == "__main__":
    real_corpus()
    look_alikes()
