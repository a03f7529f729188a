"""The static site, rendered with Jinja2 (autoescaping on; summaries are nh3-clean): the river
of news, a page per category and per language, and a sources page. No JavaScript, no
external assets; interface labels in the page's language."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ..models import SourceHealth, StoredEntry
from . import display_title

STRINGS = {
    "en": {"skip": "Skip to the news", "categories": "Categories", "languages": "Languages",
           "sources": "Sources", "subscribe": "Subscribe", "also": "also published by",
           "empty": "No news yet.", "all_feeds_opml": "All feeds (OPML)",
           "sources_opml": "Member and partner feeds (OPML)", "health": "Source health (JSON)",
           "sources_caption": "Member and partner feeds and their health", "source": "Source",
           "kind": "Kind", "state": "State", "last_success": "Last success",
           "entries": "Entries", "last_error": "Last error", "report": "Feed report",
           "report_title": "How the hub reads", "checked": "Read at",
           "no_report": "Not read yet: the report appears after the first successful poll.",
           "severity": "Severity", "finding": "Finding"},
    "fr": {"skip": "Aller aux actualités", "categories": "Catégories", "languages": "Langues",
           "sources": "Sources", "subscribe": "S'abonner", "also": "aussi publié par",
           "empty": "Aucune actualité pour l'instant.", "all_feeds_opml": "Tous les flux (OPML)",
           "sources_opml": "Flux des membres et partenaires (OPML)",
           "health": "État des sources (JSON)",
           "sources_caption": "Flux des membres et partenaires et leur état",
           "source": "Source", "kind": "Type", "state": "État",
           "last_success": "Dernier succès", "entries": "Entrées",
           "last_error": "Dernière erreur", "report": "Rapport du flux",
           "report_title": "Comment le hub lit", "checked": "Lu le",
           "no_report": "Pas encore lu : le rapport apparaît après la première lecture réussie.",
           "severity": "Gravité", "finding": "Constat"},
    "es": {"skip": "Ir a las noticias", "categories": "Categorías", "languages": "Idiomas",
           "sources": "Fuentes", "subscribe": "Suscribirse", "also": "también publicado por",
           "empty": "Todavía no hay noticias.", "all_feeds_opml": "Todos los canales (OPML)",
           "sources_opml": "Canales de miembros y socios (OPML)",
           "health": "Estado de las fuentes (JSON)",
           "sources_caption": "Canales de miembros y socios y su estado",
           "source": "Fuente", "kind": "Tipo", "state": "Estado",
           "last_success": "Último éxito", "entries": "Entradas",
           "last_error": "Último error", "report": "Informe del canal",
           "report_title": "Cómo lee el hub", "checked": "Leído el",
           "no_report": "Aún no leído: el informe aparece tras la primera lectura correcta.",
           "severity": "Gravedad", "finding": "Observación"},
}
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "es": "Español", "pt": "Português",
                  "de": "Deutsch", "ar": "العربية"}
FORMAT_LABELS = (("atom", "application/atom+xml", "Atom"), ("rss", "application/rss+xml", "RSS"),
                 ("json", "application/feed+json", "JSON Feed"))


@dataclass(frozen=True)
class PageEntry:
    entry: StoredEntry
    source_name: str
    categories: tuple[tuple[str, str], ...]  # (id, label)

    @property
    def title(self) -> str:
        return display_title(self.entry)


@dataclass(frozen=True)
class Site:
    """What every page shares."""

    hub_title: str
    categories: tuple[tuple[str, str], ...]  # in the page's language
    languages: tuple[str, ...]
    counts: Mapping[str, int]


@functools.cache  # compiled templates are kept: compiling them took most of a page's time
def _environment() -> Environment:
    return Environment(loader=PackageLoader("aggregator", "templates"),
                       autoescape=select_autoescape(["html"]), trim_blocks=True,
                       lstrip_blocks=True, keep_trailing_newline=True)


def strings(language: str) -> dict[str, str]:
    return STRINGS.get(language.split("-")[0], STRINGS["en"])


def feed_links(feed: str, title: str) -> list[dict[str, str]]:
    """Autodiscovery and subscribe links for the feed named ``feed`` (e.g. "fr/all")."""
    return [{"href": f"{feed}.{ext}", "type": mime, "label": label,
             "title": f"{title} ({label})"} for ext, mime, label in FORMAT_LABELS]


def render_river(site: Site, title: str, language: str, feed: str, root: str,
                 entries: Sequence[PageEntry]) -> bytes:
    return _render("river.html", site, title, language, root, feed_links(feed, title),
                   entries=entries)


def render_sources(site: Site, title: str, language: str, health: Sequence[SourceHealth]
                   ) -> bytes:
    return _render("sources.html", site, title, language, "", feed_links("all", title),
                   health=health)


def render_member(site: Site, language: str, health: SourceHealth,
                  report: Sequence[tuple[str, str, str]], checked: str | None) -> bytes:
    title = f"{strings(language)['report_title']} {health.name}"
    return _render("member.html", site, title, language, "../", feed_links("all", title),
                   h=health, report=report, checked=checked)


def _render(template: str, site: Site, title: str, language: str, root: str,
            discovery: list[dict[str, str]], **extra: Any) -> bytes:
    page = _environment().get_template(template)
    return page.render(title=title, language=language, root=root, discovery=discovery,
                       hub_title=site.hub_title, categories=site.categories,
                       languages=site.languages, counts=site.counts,
                       language_names=LANGUAGE_NAMES, t=strings(language),
                       **extra).encode("utf-8")
