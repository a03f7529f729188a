"""Which entry an incoming one is, pure: identity keys within a source (guid, else link,
else a hash of title and content; repeated guids inside one feed told apart), broken ids,
canonical links (the cross-source evidence) and content hashes (whether an entry changed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aggregator.models import EntryData

_TRACKING = ("utm_", "mc_", "_hs", "pk_", "mtm_")
_TRACKING_EXACT = {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "ref", "ref_src"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str | None) -> str | None:
    """A comparison form of a URL; the published link stays as the publisher wrote it."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    try:
        port = parts.port
    except ValueError:  # a malformed port: compare the URL as written
        return url.strip()
    if port and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not k.lower().startswith(_TRACKING) and k.lower() not in _TRACKING_EXACT]
    path = parts.path.rstrip("/") or "/"
    # http and https are compared as one: many sites serve both.
    return urlunsplit(("https", host, path, urlencode(sorted(query)), ""))


def digest(*parts: str | None, size: int = 20) -> str:
    h = hashlib.sha256("\x1f".join(p or "" for p in parts).encode("utf-8"))
    return h.hexdigest()[:size]


def identities(entries: Iterable[EntryData], by_link: bool = False) -> list[str]:
    """Identity of each entry in one feed: guid (unless ``by_link``), else link, else a hash
    of title and content. A repeated identity is told apart by link, then by position."""
    seen: set[str] = set()
    out: list[str] = []
    for position, e in enumerate(entries):
        guid = None if by_link else e.guid
        ident = guid or e.link or "hash:" + digest(e.title, e.content or e.summary)
        if ident in seen:
            ident = f"{ident}#{e.link}" if e.link and f"{ident}#{e.link}" not in seen else \
                f"{ident}#{position}"
        seen.add(ident)
        out.append(ident)
    return out


def broken_ids(entries: list[EntryData], stored_guids: dict[str, str]) -> str | None:
    """Why this feed's guids cannot identify its entries, or None when they can.

    ``stored_guids``: canonical link -> guid of the entries already stored for the source.
    """
    guids = [e.guid for e in entries if e.guid]
    if len(guids) >= 3 and len(set(guids)) * 2 <= len(guids):
        return f"ids mostly duplicated ({len(set(guids))} distinct of {len(guids)})"
    same = changed = 0
    for e in entries:
        before = stored_guids.get(canonical_url(e.link) or "")
        if before is not None and e.guid:
            same, changed = (same + 1, changed) if before == e.guid else (same, changed + 1)
    if changed >= 3 and changed > same:
        return f"ids change between fetches ({changed} known links came with new ids)"
    return None


def content_hash(e: EntryData, categories: tuple[str, ...], language: str) -> str:
    """Changes when a reader would see a difference."""
    return digest(e.title, e.link, e.summary, e.content, "|".join(e.authors),
                   "|".join(x.url for x in e.enclosures),
                   "|".join(e.raw_categories), "|".join(categories), language,
                   e.published.isoformat() if e.published else None,
                   e.updated.isoformat() if e.updated else None,
                   *([e.image.url] if e.image else []), size=32)  # imageless hashes unchanged
