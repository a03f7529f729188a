"""Render the site's pages with Jinja2, one environment per page language (autoescaping
on; summaries are nh3-clean HTML). Pure: data in, bytes out."""

from __future__ import annotations

import functools
import html
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    TemplateSyntaxError,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from markupsafe import Markup, escape

from aggregator.models import Image, StoredEntry
from aggregator.render import display_title
from aggregator.render.site.i18n import translations, words
from aggregator.render.site.layout import Sheet
from aggregator.sanitize import plain_text

FORMAT_LABELS = (("atom", "application/atom+xml", "Atom"), ("rss", "application/rss+xml", "RSS"),
                 ("json", "application/feed+json", "JSON Feed"))
PICTURE_WIDTH = 160  # CSS pixels beside an entry; the height follows the picture's ratio


@dataclass(frozen=True)
class Copy:
    """Another source's copy of a merged story, named and linked on the page."""

    source_id: str
    name: str
    link: str | None


@dataclass(frozen=True)
class Shown:
    """A picture as placed on the page: always with a width and height, so nothing jumps
    while it loads."""

    url: str
    width: int
    height: int


@dataclass(frozen=True)
class PageEntry:
    entry: StoredEntry
    source_name: str
    categories: tuple[tuple[str, str], ...]  # (id, label in the page's language)
    copies: tuple[Copy, ...] = ()
    anchor: str = ""
    lang: str = ""  # of its text, for the article's lang attribute
    month: str = ""  # a card's: the month page holding its article (from the tree root)
    card: bool = False  # shown as a card (rivers), not as its article (month pages)

    @property
    def title(self) -> str:
        return display_title(self.entry)

    @property
    def teaser(self) -> str:
        """A card's text: the start of the summary (or content) as plain text."""
        return teaser(self.entry.summary or self.entry.content or "")

    @property
    def image(self) -> Shown | None:
        """The thumbnail, unless the text shown below already holds that picture (taken
        from the content's first image: it would be shown twice; a card's text is plain)."""
        picture = self.entry.image
        text = "" if self.card else self.entry.summary or self.entry.content or ""
        if picture is not None and (f'"{picture.url}"' in text or
                                    f'"{html.escape(picture.url)}"' in text):
            return None
        return shown(picture)


TEASER = 280  # characters of text on a card


@functools.lru_cache(maxsize=2048)  # a card is made in each tree of its languages in turn
def teaser(html_text: str) -> str:
    """At most TEASER characters of the text, cut after a whole word, with an ellipsis."""
    text = plain_text(html_text, True)
    if len(text) <= TEASER:
        return text
    cut = text[:TEASER - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > TEASER // 2 else cut).rstrip(" ,;:.") + "…"


def shown(image: Image | None) -> Shown | None:
    if image is None:
        return None
    height = PICTURE_WIDTH * 9 // 16
    if image.width and image.height:
        height = max(60, min(240, round(PICTURE_WIDTH * image.height / image.width)))
    return Shown(image.url, PICTURE_WIDTH, height)


@dataclass(frozen=True)
class Alternate:
    """The same page in another language tree."""

    code: str  # hreflang: a language, or x-default for the all-languages tree
    label: str
    href: str  # from the output root
    absolute: str
    current: bool


@dataclass(frozen=True)
class Chrome:
    """What every page shares: its language, where it sits and its neighbours in the other
    language trees."""

    hub_title: str
    language: str
    up: str  # from the page to the output root ("../../")
    home: str  # from the page to its tree root
    categories: tuple[tuple[str, str], ...]
    alternates: tuple[Alternate, ...]
    current: str = ""  # which navigation item is this page
    theme: str | None = None  # the operator's theme folder (config output.theme)


THEME_CSS = "theme.css"  # a theme's style.css, published beside the pages
MAX_THEME_CSS = 2**20


@functools.cache  # one per language: the i18n extension binds its catalog to the environment
def environment(language: str, theme: str | None = None) -> Environment:
    shipped = PackageLoader("aggregator.render.site", "templates")
    loader: BaseLoader = shipped if theme is None else ChoiceLoader(
        [FileSystemLoader(str(Path(theme) / "templates")), shipped])
    env = Environment(loader=loader,
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True,
                      auto_reload=theme is not None,  # shipped ones never change: no stat
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["gettext"] = _kept_words(translations(language).gettext)
    env.globals["said"] = functools.cache(translations(language).gettext)  # entry_html's
    env.globals["article"] = article
    env.globals["articles"] = articles
    env.globals["site_nav"] = site_nav
    return env


def theme_css(theme: Path) -> bytes | None:
    """The theme's stylesheet, if it has one."""
    try:
        return (theme / "style.css").read_bytes()[:MAX_THEME_CSS]
    except OSError:
        return None


def theme_problems(theme: Path) -> list[str]:
    """What is wrong with a theme folder, in words (check-config): templates that override
    nothing, or do not compile; a stylesheet too big."""
    problems = []
    shipped = set(PackageLoader("aggregator.render.site", "templates").list_templates())
    folder = theme / "templates"
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        if path.name not in shipped:
            problems.append(f"{path}: overrides no template (the shipped ones: "
                            f"{', '.join(sorted(shipped))})")
            continue
        try:
            Environment(extensions=["jinja2.ext.i18n"]).parse(path.read_text("utf-8"))
        except TemplateSyntaxError as e:
            problems.append(f"{path}:{e.lineno}: {e.message}")
        except (OSError, UnicodeDecodeError) as e:
            problems.append(f"{path}: cannot read it: {e}")
    css = theme / "style.css"
    if css.exists() and css.stat().st_size > MAX_THEME_CSS:
        problems.append(f"{css}: larger than 1 MiB")
    if not folder.is_dir() and not css.exists():
        problems.append(f"{theme}: holds neither templates/ nor style.css")
    return problems


def _kept_words(translate: Callable[[str], str]) -> Any:
    """Jinja's newstyle gettext (the message translated, as Markup when escaping, then
    formatted with its variables escaped), each message translated once: a page asks for
    ~20 of the same few words, each ask cost ~40 µs (a sixth of a site's rendering), and
    every card and article asks for its "Full article: %(title)s"."""
    kept: dict[tuple[str, bool], Any] = {}  # translated, not yet formatted
    done: dict[tuple[str, bool], Any] = {}  # without variables: formatted too

    @pass_context
    def kept_gettext(context: Context, message: str, **variables: Any) -> Any:
        key = (message, context.eval_ctx.autoescape)
        if not variables and key in done:
            return done[key]
        rv = kept.get(key)
        if rv is None:
            rv = kept[key] = Markup(translate(message)) if key[1] else translate(message)
        if variables:
            return rv % variables
        done[key] = rv % variables  # a format string always (%% is one %)
        return done[key]

    return kept_gettext


HOME = "\x00home\x00"  # stands for the page's path to its tree root in a kept article
ARTICLES_KEPT = 2**20  # characters of rendered cards kept for reuse (a few hundred: the
# newest entries' cards, on their river, category and source pages of one tree)


class _Articles:
    """Rendered cards by page language and entry: an entry appears on its river, category
    and source pages of each tree of a language, and is rendered once for all of them
    (its article is on its month page alone: not kept).

    The build walks river by river, each in every tree (publish/site.py), so a card is
    used again soon or, for the newest entries, on the next rivers: the least recently
    used go first once ARTICLES_KEPT is reached. A card is known by its entry's key and
    content hash, not by the entry object: a whole build reads an entry again for each
    river (publish/reads.py), and the store does not change while it publishes (the
    cards are forgotten when a build starts)."""

    def __init__(self) -> None:
        self.kept: OrderedDict[tuple[object, ...], str] = OrderedDict()
        self.size = 0

    def get(self, language: object, key: tuple[object, ...]) -> str | None:
        found = self.kept.get((language, *key))
        if found is not None:
            self.kept.move_to_end((language, *key))
        return found

    def put(self, language: object, key: tuple[object, ...], html: str) -> None:
        gone = self.kept.pop((language, *key), None)
        if gone is not None:
            self.size -= len(gone)
        self.kept[(language, *key)] = html
        self.size += len(html)
        while self.size > ARTICLES_KEPT and self.kept:
            _, dropped = self.kept.popitem(last=False)
            self.size -= len(dropped)

    def forget(self) -> None:
        self.kept.clear()
        self.size = 0


_ARTICLES = _Articles()


def forget_articles() -> None:
    """A new build starts from nothing kept (entries may have changed in the store)."""
    _ARTICLES.forget()
    _NAVS.clear()  # a theme's nav.html may have changed since
    _SHIPPED.clear()  # a theme may have gained its own card.html since


_SHIPPED: dict[tuple[int, str], bool] = {}  # (environment, template) -> the shipped one?


def _shipped(env: Environment, name: str) -> bool:
    """Whether ``env`` renders the package's own ``name`` (not a theme's)."""
    found = _SHIPPED.get((id(env), name))
    if found is None:
        source = env.loader.get_source(env, name)[1] if env.loader else None
        found = _SHIPPED[(id(env), name)] = source is not None and \
            Path(source) == TEMPLATES / name
    return found


TEMPLATES = Path(__file__).parent / "templates"


def esc(value: object) -> str:
    """``str(markupsafe.escape(value))``, made without a Markup for a plain string (entry_html
    escapes a dozen strings an entry, 260,000 entries a build at 2,000 sources)."""
    if type(value) is not str:
        return str(escape(value))
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("'", "&#39;").replace('"', "&#34;"))


def entry_html(item: PageEntry, context: Context, home: str) -> str:
    """What card.html (``item.card``) or article.html renders for ``item``, made here (a
    template render per entry was a third of a whole build: 100,000 cards and 160,000
    articles at 2,000 sources). The templates stay the reference, a test holds both ways
    to the same bytes, and a theme's own templates are rendered by Jinja. ``home``: the
    page's path to its tree root (HOME in a card kept for several pages)."""
    e, fmt, card = item.entry, context.get("fmt"), item.card
    gettext: Any = context.environment.globals["gettext"]  # _kept_words'
    said: Any = context.environment.globals["said"]  # formatted here, with
    # the title escaped as Jinja's gettext would (Markup's % was a twentieth of a build)
    title = esc(item.title)
    out = [f'<article class="card" id="{esc(item.anchor)}" lang="{esc(item.lang)}">\n'
           if card else f'<article id="{esc(item.anchor)}" lang="{esc(item.lang)}">\n']
    image = item.image
    if image:
        out.append(f'<img class="pic" src="{esc(image.url)}" width="{image.width}" '
                   f'height="{image.height}" loading="lazy" decoding="async" '
                   f'referrerpolicy="no-referrer" alt="{title}">\n')
    out.append(f'<h2><a href="{esc(e.link)}">{title}</a></h2>\n' if e.link
               else f"<h2>{title}</h2>\n")
    home = esc(home)
    out.append(f'<p class="meta"><a href="{home}source/{esc(e.source_id)}.html">'
               f"{esc(item.source_name)}</a>")
    if item.categories:
        out.append(" · " + ", ".join(f'<a href="{home}category/{esc(cid)}.html">'
                                     f"{esc(label)}</a>" for cid, label in item.categories))
    out.append(f' \u2013 <time datetime="{esc(e.published.isoformat())}">'
               f"{esc(fmt.date(e.published))}</time>")
    if e.language:
        out.append(f" · <span>{esc(fmt.language_name(e.language))}</span>")
    out.append("</p>\n")
    # a line of the templates that ends with a block tag has no newline after it
    if card:
        text = item.teaser
        if text:
            out.append(f'<p class="summary">{esc(text)}</p>\n')
        if item.month:
            label = said("Full article: %(title)s") % {"title": title}
            out.append(f'<p class="more"><a href="{home}{esc(item.month)}#'
                       f'{esc(item.anchor)}" aria-label="{label}">'
                       f'{gettext(context, "Full article")}</a></p>')
    else:
        body = e.summary or e.content
        if body:
            out.append(f'<div class="summary">{body}</div>\n')  # sanitized when stored
        if e.link:
            label = said("Read more: %(title)s") % {"title": title}
            out.append(f'<p class="more"><a href="{esc(e.link)}" aria-label="{label}">'
                       "(+)</a></p>")
    if item.copies:
        links = ", ".join(
            f'<a href="{esc(c.link) if c.link else f"{home}source/{esc(c.source_id)}.html"}">'
            f"{esc(c.name)}</a>" for c in item.copies)
        out.append(f'<p class="also">{gettext(context, "Also published by")} {links}</p>\n')
    out.append("</article>\n")
    return "".join(out)


@pass_context
def article(context: Context, item: PageEntry) -> Markup:
    """One entry's article, or its card, for the page being rendered (entries.html)."""
    if not item.card:  # an article is on one page of a tree: nothing to keep
        home = context.get("home")
        return Markup(entry_html(item, context, str(home))
                      if _shipped(context.environment, "article.html") else
                      context.environment.get_template("article.html").render(
                          item=item, HOME=home, fmt=context.get("fmt")))
    language = context.get("language")
    key = (item.entry.key, item.entry.content_hash, item.anchor, item.lang,
           item.source_name, item.categories, item.copies, item.month)
    html = _ARTICLES.get(language, key)
    if html is None:
        html = entry_html(item, context, HOME) if _shipped(context.environment, "card.html") \
            else context.environment.get_template("card.html").render(
                item=item, HOME=HOME, fmt=context.get("fmt"))
        _ARTICLES.put(language, key, html)
    return Markup(html.replace(HOME, str(context.get("home"))))


_NAVS: dict[tuple[object, ...], Markup] = {}  # see site_nav


@pass_context
def site_nav(context: Context, categories: tuple[tuple[str, str], ...], home: str,
             current: str) -> Markup:
    """nav.html for a page of this environment's language: rendered once for each depth
    and current page (its 20 categories, escaped and translated for each of 34,000 pages,
    were a tenth of a whole build), without the line end base.html puts after it."""
    env = context.environment
    if not current.startswith("category/") and current not in ("sources", "archive",
                                                                 "search") \
            and _shipped(env, "nav.html"):
        current = ""  # marks nothing in it: 2,000 source pages share one
    key = (id(env), categories, home, current)
    found = _NAVS.get(key)
    if found is None:
        html = env.get_template("nav.html").render(categories=categories, home=home,
                                                   current=current)
        found = _NAVS[key] = Markup(html.removesuffix("\n"))
    return found


@pass_context
def articles(context: Context, items: Sequence[PageEntry]) -> Markup:
    """Every entry of a page, a line apart (entries.html: one call a page, not one through
    Jinja's call machinery for each of 260,000 cards and articles)."""
    return Markup("\n".join([article(context, item) for item in items]))


def feed_links(feed: str, title: str) -> list[dict[str, str]]:
    """Autodiscovery and subscribe links for the feed named ``feed`` (e.g. "fr/all")."""
    return [{"href": f"{feed}.{ext}", "type": mime, "label": label,
             "title": f"{title} ({label})"} for ext, mime, label in FORMAT_LABELS]


def render(template: str, chrome: Chrome, title: str, discovery: Sequence[Mapping[str, str]]
           = (), sheet: Sheet[Any] | None = None, **extra: Any) -> bytes:
    page = environment(chrome.language, chrome.theme).get_template(template)
    return page.render(title=title, language=chrome.language, up=chrome.up, home=chrome.home,
                       theme_css=chrome.theme is not None and theme_css(Path(chrome.theme))
                       is not None,
                       hub_title=chrome.hub_title, categories=chrome.categories,
                       alternates=chrome.alternates, current=chrome.current,
                       discovery=discovery, sheet=sheet, fmt=words(chrome.language),
                       **extra).encode("utf-8")
