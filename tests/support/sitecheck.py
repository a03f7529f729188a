"""Checks over a built site on disk: strict HTML parsing and the internal links."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import html5lib

_HREF = re.compile(r'\s(?:href|src)="([^"]*)"')
_ID = re.compile(r'\sid="([^"]+)"')


def parse_errors(page: bytes) -> list[str]:
    """What a strict HTML5 parser objects to (empty: the page is well-formed HTML5)."""
    parser = html5lib.HTMLParser(strict=False, namespaceHTMLElements=False)
    parser.parse(page)
    return [f"line {pos[0]} col {pos[1]}: {code} {data or ''}"
            for pos, code, data in parser.errors]


def pages(root: Path) -> dict[str, str]:
    """Every HTML page under ``root``: name -> text."""
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(root.rglob("*.html"))}


def internal_links(name: str, text: str) -> list[tuple[str, str]]:
    """(target page, fragment) of every relative link on page ``name``."""
    out = []
    for href in _HREF.findall(text):
        parts = urlsplit(href.replace("&amp;", "&"))
        if parts.scheme or parts.netloc or not (parts.path or parts.fragment):
            continue
        target = posixpath.normpath(posixpath.join(posixpath.dirname(name), unquote(parts.path))
                                    ) if parts.path else name
        out.append((target, parts.fragment))
    return out


def broken_links(root: Path) -> list[str]:
    site = pages(root)
    ids = {name: set(_ID.findall(text)) for name, text in site.items()}
    found = []
    for name, text in site.items():
        for target, fragment in internal_links(name, text):
            if not (root / target).is_file():
                found.append(f"{name} -> {target}")
            elif fragment and target.endswith(".html") and fragment not in ids[target]:
                found.append(f"{name} -> {target}#{fragment}")
    return found


def reachable(root: Path, start: str) -> set[str]:
    """Pages reachable from ``start`` by following internal links."""
    seen, todo = {start}, [start]
    while todo:
        name = todo.pop()
        text = (root / name).read_text(encoding="utf-8")
        for target, _ in internal_links(name, text):
            if target.endswith(".html") and target not in seen and (root / target).is_file():
                seen.add(target)
                todo.append(target)
    return seen
