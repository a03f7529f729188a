"""sanitize's shortcuts must give exactly what the long way gives (links, ids and texts are
stored and republished as they come, and content hashes depend on them): safe_url answers
plain absolute URLs without urljoin and urlsplit, clean_html plain text without nh3."""

from __future__ import annotations

import nh3
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from aggregator.sanitize import (
    _ATTRIBUTES,
    _HTML_URL_SCHEMES,
    _PLAIN_URL,
    _resolved_url,
    clean_html,
    clean_text,
    safe_url,
)

# what changes URLs under urlsplit/urljoin: case, ports, users, parameters, empty queries
# and fragments, brackets, dot segments, spaces and controls, non-ASCII
PIECES = st.sampled_from(["http", "https", "HTTP", "Https", "ftp", "mailto:", "://", "//",
                          "/", "a", "Z", "0", "9", ".", "..", "-", "_", "~", ":", "8080",
                          "99999", "@", "user", ";", "p=1", "?", "q=1&r=2", "#", "frag",
                          "%20", "%", "[", "]", "::1", " ", "\t", "\n", "\x01", "\\", "é",
                          "\u00a0", "'", "(", ")", "!", "$", "*", "+", ",", "="])
URLS = st.lists(PIECES, max_size=14).map("".join)
PLAINISH = st.builds(lambda scheme, rest: f"{scheme}://{rest}",
                     st.sampled_from(["http", "https", "HTTP"]), URLS)
BASES = st.one_of(st.none(), st.just(""), st.just("https://hub.example/feeds/a.xml"),
                  st.just("http://[::1"), PLAINISH, URLS)


@pytest.mark.slow  # a property test: 1,500 examples
@settings(max_examples=1500)
@given(st.one_of(PLAINISH, URLS), BASES)
@example("http://a/b?", "http://h/")  # urljoin drops an empty query or fragment...
@example("https://a/b#", "https://h/")  # ... when the base has the same scheme
@example("http://a/b?", "https://h/")
@example("http://a:99999/b", None)
@example("https://a/b", "http://[::1")
@example("https://a/b;p?q", "https://a/")
def test_a_plain_url_is_what_resolving_it_gives(url: str, base: str | None) -> None:
    resolved = _resolved_url(clean_text(url).strip(), base) if url else None
    assert safe_url(url, base) == resolved


def test_everyday_links_take_the_short_way() -> None:
    for url in ("https://www.example.org/news/2026/11/30/a-story.html",
                "http://ville.example.fr/actualites?id=42&lang=fr#haut",
                "https://cdn.example.net/img/photo_1200x675.jpg"):
        assert _PLAIN_URL.fullmatch(url)
        assert safe_url(url, "https://www.example.org/feed.xml") == url


def test_relative_and_odd_links_are_still_resolved_or_refused() -> None:
    base = "https://www.example.org/news/feed.xml"
    assert safe_url("../about.html", base) == "https://www.example.org/about.html"
    assert safe_url("HTTPS://Example.org/x", None) == "HTTPS://Example.org/x"
    assert safe_url("https://example.org:70000/x", None) is None
    assert safe_url("javascript:alert(1)", base) is None
    assert safe_url("https://exa mple.org/", None) is None


def _clean_html_by_nh3(value: str, base: str | None) -> str:
    """clean_html without its shortcut: nh3 on everything."""
    relative = ("rewrite_with_base", base) if base else "deny"
    return clean_text(nh3.clean(clean_text(value), attributes=_ATTRIBUTES,
                                url_schemes=_HTML_URL_SCHEMES, link_rel="noopener noreferrer",
                                url_relative=relative)).strip()


# what an HTML parser and serializer may change in text: markup, entities, spaces of every
# kind, line ends, controls, no-break and zero-width spaces, a BOM, combining accents
TEXT = st.lists(st.sampled_from([*"ab Z9.,;:!?'\"()/=-_é\u0301ﬁ\t\n\r\x00\x0c\x85",
                                 "\u00a0", "\u200b", "\ufeff", "\u2028", "<", ">", "&",
                                 "&amp;", "&nbsp;", "<p>", "</p>", "<b>", "<script>",
                                 "\U0001f600", "\ud800"]), max_size=40).map("".join)


@pytest.mark.slow  # a property test: 1,500 examples
@settings(max_examples=1500)
@given(TEXT, st.sampled_from([None, "https://city.example/news/"]))
@example("a\u00a0b", None)
@example("x\r\ny", None)
@example("a > b", None)
def test_plain_text_is_what_nh3_gives(text: str, base: str | None) -> None:
    assert clean_html(text, base) == _clean_html_by_nh3(text, base)
