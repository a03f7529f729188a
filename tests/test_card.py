"""A river's card and a month page's article are made in Python (pages.entry_html) for
speed; card.html and article.html stay the reference: both ways give the same bytes for
every shape of entry, in every language, and a theme's own templates are still rendered by
Jinja."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from aggregator.models import FeedMeta, Image, StoredEntry
from aggregator.render.site.i18n import words
from aggregator.render.site.pages import HOME, Copy, PageEntry, _shipped, entry_html, environment

HOSTILE = 'Rates & "fees" <b>up</b> 50% for l\'été'
BASE = StoredEntry(key="k", source_id="city-1", entry_id="k", title="A plain story",
                   link="https://city.example/a?x=1&y=2", canonical_link=None,
                   published=datetime(2026, 3, 4, 5, 6, tzinfo=UTC),
                   updated=datetime(2026, 3, 4, 5, 6, tzinfo=UTC),
                   first_seen=datetime(2026, 3, 4, 5, 6, tzinfo=UTC), content_hash="h",
                   summary="<p>Some <b>text</b> &amp; more</p>", categories=("resilience",),
                   own_categories=("resilience",), language="fr", story="k",
                   origin=FeedMeta(title="City"))


def shapes() -> list[PageEntry]:
    entries = [
        BASE,
        replace(BASE, title=HOSTILE, link=None, language=None, summary=None, content=None),
        replace(BASE, image=Image("https://city.example/p.jpg?a=1&b=2", 800, 600),
                summary="x " * 400),
        replace(BASE, image=Image("https://city.example/p.png"), summary=HOSTILE),
        replace(BASE, image=Image("https://city.example/p.png"), summary=None,  # its text
                content='<p><img src="https://city.example/p.png" alt=""> 50%</p>'),  # shows it
    ]
    categories = [(), (("resilience", "Résilience"),),
                  (("resilience", "Résilience"), ("housing", 'Housing & "homes"'))]
    copies = [(), (Copy("town-2", "Town <2>", None), Copy("un", "UN", "https://un.example/a"))]
    out = []
    for n, (e, cats, copied, month) in enumerate(itertools.product(
            entries, categories, copies, ["", "month/2026-03-p2.html"])):
        out.append(PageEntry(e, f"Source {n} & co", cats, copied, f"e-{n}", e.language or "en",
                             month, card=True))
    return out


def test_cards_and_articles_in_python_are_the_templates_bytes_in_every_language() -> None:
    for language, card in itertools.product(("en", "fr", "es"), (True, False)):
        template = environment(language).get_template("card.html" if card else "article.html")
        fmt = words(language)
        for item in shapes():
            item = replace(item, card=card)
            home = HOME if card else "../"
            want = template.render(item=item, HOME=home, fmt=fmt)
            context = template.new_context({"item": item, "HOME": home, "fmt": fmt})
            assert entry_html(item, context, home) == want, (language, card, item.anchor)


def test_a_themes_own_templates_are_rendered_by_jinja(tmp_path: Path) -> None:
    assert _shipped(environment("en"), "card.html")
    assert _shipped(environment("en"), "article.html")
    (tmp_path / "style.css").write_text("body { color: black }")
    assert _shipped(environment("en", str(tmp_path)), "card.html")  # a stylesheet alone
    themed = tmp_path / "with-card"
    (themed / "templates").mkdir(parents=True)
    (themed / "templates" / "card.html").write_text("<article>{{ item.title }}</article>\n")
    assert not _shipped(environment("en", str(themed)), "card.html")
    assert _shipped(environment("en", str(themed)), "article.html")
