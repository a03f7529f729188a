"""Reading a news listing page by CSS selectors: lxml.html + cssselect vs selectolax.

"lxml+cssselect" translates each selector on every call (``element.cssselect``); "scrape.py"
is what the aggregator does (the whole reading, normalizer included, with selectors
translated once).

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python benchmarks/bench_scrape.py

The network blog example (examples/network-blog.html, 5 posts) and the same page grown to
500 posts, each read 200 times by both parsers with the shipped selectors: item, title, link,
summary and the "categories - date" line. Interleaved, one run, median per read.
"""

from __future__ import annotations

import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import lxml
import lxml.html

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PAGE = (ROOT / "examples" / "network-blog.html").read_bytes()
ROUNDS = 200


def grown(posts: int) -> bytes:
    head, rest = PAGE.split(b'<div class="post">', 1)
    block = b'<div class="post">' + rest.split(b"</main>")[0]
    return head + block * (posts // 5) + b"</main></body></html>"


def with_lxml(page: bytes) -> list[tuple[str, str | None, str, str]]:
    doc = lxml.html.document_fromstring(page)
    out = []
    for item in doc.cssselect("div.post"):
        title = item.cssselect("h2 a")
        summary = item.cssselect("p.teaser")
        meta = item.cssselect("p.meta")
        out.append((title[0].text_content() if title else "",
                    title[0].get("href") if title else None,
                    summary[0].text_content() if summary else "",
                    meta[0].text_content() if meta else ""))
    return out


def with_ours(page: bytes) -> list[tuple[str, str | None, str, str]]:
    """What scrape.py does: lxml.html, selectors translated to XPath once."""
    from aggregator.config import ScrapeSettings
    from aggregator.ingest.parse.scrape import scrape_page

    rules = ScrapeSettings(item="div.post", title="h2 a", link="h2 a", summary="p.teaser")
    return [(e.title, e.link, e.summary or "", "") for e in scrape_page(page, "", rules).entries]


def with_selectolax(page: bytes) -> list[tuple[str, str | None, str, str]]:
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    doc = HTMLParser(page)
    out = []
    for item in doc.css("div.post"):
        title = item.css_first("h2 a")
        summary = item.css_first("p.teaser")
        meta = item.css_first("p.meta")
        out.append((title.text() if title else "", title.attributes.get("href") if title else None,
                    summary.text() if summary else "", meta.text() if meta else ""))
    return out


def timed(read: Callable[[bytes], object], page: bytes) -> float:
    start = time.perf_counter()
    read(page)
    return time.perf_counter() - start


def main() -> None:
    import selectolax

    print(f"python {platform.python_version()}, lxml {lxml.__version__}, "
          f"selectolax {selectolax.__version__}")
    print(f"{'page':<18} {'lxml+cssselect ms':>18} {'scrape.py ms':>13} {'selectolax ms':>14} "
          f"{'scrape.py / selectolax':>23}")
    for name, page in (("example, 5 posts", PAGE), ("grown, 500 posts", grown(500))):
        same = [tuple(re.sub(r"\s+", " ", v or "").strip() for v in row)
                for row in with_lxml(page)] == [
            tuple(re.sub(r"\s+", " ", v or "").strip() for v in row)
            for row in with_selectolax(page)]
        assert same, "the two parsers read the page differently"
        runs: dict[str, list[float]] = {"lxml": [], "ours": [], "selectolax": []}
        for _ in range(ROUNDS):  # interleaved
            for key, read in (("lxml", with_lxml), ("ours", with_ours),
                              ("selectolax", with_selectolax)):
                runs[key].append(timed(read, page))
        la, ours, sb = (statistics.median(runs[k]) * 1000 for k in runs)
        print(f"{name:<18} {la:>18.3f} {ours:>13.3f} {sb:>14.3f} {ours / sb:>22.1f}x")


if __name__ == "__main__":
    main()
