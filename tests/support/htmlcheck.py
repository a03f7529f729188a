"""Assert that an HTML fragment, as a browser would parse it (html5lib), is harmless."""

from __future__ import annotations

import html5lib

FORBIDDEN_ELEMENTS = {"script", "style", "iframe", "object", "embed", "form", "input",
                      "button", "textarea", "select", "svg", "math", "base", "meta", "link",
                      "frame", "frameset", "applet", "template", "noscript"}
FORBIDDEN_ATTRIBUTES = {"srcdoc", "formaction", "style", "action"}
URL_ATTRIBUTES = {"href", "src", "cite", "action", "formaction", "poster", "background",
                  "longdesc", "srcset", "data", "xlink:href"}
SAFE_SCHEMES = ("http://", "https://", "mailto:")


def problems(fragment: str, republished: bool = True) -> list[str]:
    """Everything in the fragment that should not be there (empty when it is safe).

    ``republished``: the fragment is third-party content, whose links must carry
    rel="noopener noreferrer"; our own page's links need not."""
    tree = html5lib.parseFragment(fragment, namespaceHTMLElements=False)
    found = []
    for el in tree.iter():
        tag = el.tag if isinstance(el.tag, str) else ""
        name = tag.split("}")[-1].lower()
        if name in FORBIDDEN_ELEMENTS:
            found.append(f"element <{name}>")
        for attr, value in el.attrib.items():
            attr = attr.split("}")[-1].lower()
            if attr.startswith("on") or attr in FORBIDDEN_ATTRIBUTES:
                found.append(f"attribute {attr}= on <{name}>")
            if attr in URL_ATTRIBUTES:
                url = value.strip().lower()
                if not url.startswith(SAFE_SCHEMES):
                    found.append(f"URL {value!r} in {attr}= on <{name}>")
        if republished and name == "a" and "href" in el.attrib:
            rel = set(el.attrib.get("rel", "").split())
            if not {"noopener", "noreferrer"} <= rel:
                found.append(f"link without rel=noopener noreferrer: {el.attrib['href']}")
    return found
