"""Where to put the near-duplicate threshold, measured on the real-world corpus.

    .venv/bin/python benchmarks/near_duplicates.py

Same-story pairs: the corpus holds the same sites in two renditions (RSS and Atom, JSON Feed
and Atom, two snapshots, gzipped and plain); entries with the same canonical link in the two
files are the same story written by two generators: the shape of a cross-post under another
link. Different-story pairs: every pair of entries from different files with different
links, published within the similarity window. Prints both distributions of the similarity
that aggregator/similarity.py computes, and how many pairs each threshold gets right.
"""

from __future__ import annotations

from pathlib import Path

from aggregator.dedup import canonical_url
from aggregator.exceptions import ParseError
from aggregator.models import EntryData
from aggregator.parse import parse_feed
from aggregator.similarity import WINDOW, fingerprint, similarity

REAL = Path(__file__).resolve().parent.parent / "tests" / "data" / "real"
PAIRS = [("rss2/artificial-truth-rss.xml", "atom/artificial-truth-atom.xml"),
         ("rss2/wordpress-norm2782-rss2.xml", "atom/wordpress-norm2782-atom.xml"),
         ("jsonfeed/daringfireball.json", "atom/daringfireball-atom-named-rss.xml"),
         ("messy/cercle-psy-fr-no-decl-latin1.xml", "messy/cercle-psy-fr-older-snapshot.xml")]


def entries(rel: str) -> list[EntryData]:
    body = (REAL / rel).read_bytes()
    try:
        return list(parse_feed(body, "https://corpus.example/" + rel).entries)
    except ParseError:
        return []


def text(e: EntryData) -> str | None:
    return e.summary or e.content


def main() -> None:
    same: list[float] = []
    for a, b in PAIRS:
        by_link = {canonical_url(e.link): e for e in entries(b) if e.link}
        for e in entries(a):
            other = by_link.get(canonical_url(e.link))
            if other is not None:
                same.append(similarity(fingerprint(e.title, text(e)),
                                       fingerprint(other.title, text(other))))
    files = sorted(str(p.relative_to(REAL)) for p in REAL.rglob("*.*")
                   if p.suffix in (".xml", ".atom", ".rdf", ".json") and p.name != "golden.json")
    dated = [(rel, e, fingerprint(e.title, text(e))) for rel in files for e in entries(rel)
             if e.published]
    dated.sort(key=lambda x: x[1].published)  # type: ignore[arg-type,return-value]
    scored = []
    for i, (ra, ea, fa) in enumerate(dated):
        for rb, eb, fb in dated[i + 1:]:
            if eb.published - ea.published > WINDOW:  # type: ignore[operator]
                break
            if ra != rb and fa and fb and canonical_url(ea.link) != canonical_url(eb.link):
                scored.append((similarity(fa, fb), ea, eb))
    different = [score for score, _, _ in scored]
    for score, ea, eb in sorted(scored, key=lambda x: -x[0])[:4]:
        print(f"  high different-link pair {score:.2f}: {ea.title[:50]!r} <{ea.link}> / "
              f"{eb.title[:50]!r} <{eb.link}>")
    same.sort()
    different.sort()
    print(f"same-story pairs: {len(same)}; different-story pairs in the window: "
          f"{len(different)}")
    for name, values in (("same", same), ("different", different)):
        quantiles = [values[int(q * (len(values) - 1))] for q in (0, 0.01, 0.05, 0.5, 1)]
        print(f"  {name:<9} min {quantiles[0]:.2f}  p1 {quantiles[1]:.2f}  p5 {quantiles[2]:.2f}"
              f"  median {quantiles[3]:.2f}  max {quantiles[4]:.2f}")
    for threshold in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        missed = sum(v < threshold for v in same)
        wrong = sum(v >= threshold for v in different)
        print(f"  threshold {threshold:.1f}: same stories missed {missed}/{len(same)}, "
              f"different stories merged {wrong}/{len(different)}")


if __name__ == "__main__":
    main()
