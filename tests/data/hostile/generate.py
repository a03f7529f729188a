"""Writes the hostile corpus (this directory). Written for this project; run again after
editing a case:  python tests/data/hostile/generate.py

Cases that must reach a loopback listener carry the placeholder PORT, which the tests replace
with their listener's port before serving the document.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def rss(items: str, head: str = "", prolog: str = "") -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?>{prolog}\n<rss version="2.0"><channel>'
            f"<title>Hostile</title><link>https://hostile.example/</link>{head}{items}"
            "</channel></rss>\n")


def item(title: str, body: str = "Body", link: str = "https://hostile.example/1",
         extra: str = "") -> str:
    return (f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>Mon, 03 May 2021 09:30:00 GMT</pubDate>"
            f"<description>{body}</description>{extra}</item>")


LOLS = "".join(f'<!ENTITY lol{i} "{"&lol%d;" % (i - 1) * 10}">' for i in range(1, 10))
CASES: dict[str, str | bytes] = {
    "billion-laughs.xml": rss(item("Laughs &lol9;"),
                              prolog=f'<!DOCTYPE rss [<!ENTITY lol0 "lol">{LOLS}]>'),
    "quadratic-blowup.xml": rss(item("Blowup " + "&big;" * 400, "&big;" * 400),
                                prolog=f'<!DOCTYPE rss [<!ENTITY big "{"B" * 40000}">]>'),
    "xxe-file.xml": rss(item("Secret &xxe;"),
                        prolog='<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'),
    "xxe-http.xml": rss(item("Remote &xxe;"), prolog='<!DOCTYPE rss [<!ENTITY xxe SYSTEM '
                                                     '"http://127.0.0.1:PORT/xxe">]>'),
    "xxe-parameter.xml": rss(item("Param"), prolog='<!DOCTYPE rss [<!ENTITY % p SYSTEM '
                                                   '"http://127.0.0.1:PORT/p.dtd"> %p;]>'),
    "external-dtd.xml": rss(item("External DTD"),
                            prolog='<!DOCTYPE rss SYSTEM "http://127.0.0.1:PORT/evil.dtd">'),
    "xinclude.xml": rss(item('XInclude <xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
                             'href="file:///etc/passwd" parse="text"/>')),
    "comment-hides-doctype.xml": rss(item("Hidden &lol9;"),
                                     prolog=f'<!-- <rss> --><!DOCTYPE rss [<!ENTITY lol0 "lol">'
                                            f"{LOLS}]>"),
    "control-chars.xml": rss(item("Bell\x07 and &#x1F;unit &#99999999999; &#xD800;end",
                                  "C1 \u0085next \u009b and NUL-ref &#0;")),
    "script-svg-iframe.xml": rss(
        item("&lt;script&gt;alert(1)&lt;/script&gt;Title &lt;b&gt;bold&lt;/b&gt;",
             "<![CDATA[<p onclick=\"x()\" style=\"color:red\">Hi</p>"
             "<script>alert(1)</script><svg onload=\"alert(2)\"><circle/></svg>"
             "<iframe srcdoc=\"<script>alert(3)</script>\"></iframe>"
             "<form action=\"https://evil.example\"><button formaction=\"javascript:x\">b"
             "</button><input value=\"x\"></form><style>body{display:none}</style>"
             "<base href=\"https://evil.example/\"><meta http-equiv=\"refresh\" content=\"0\">"
             "<object data=\"x.swf\"></object><embed src=\"x.swf\"><math><mi>x</mi></math>"
             "<a href=\"javascript:alert(4)\">js</a><a href=\"data:text/html,<script>\">data</a>"
             "<a href=\"JaVaScRiPt:alert(5)\">mixed</a><a href=\" javascript:alert(6)\">sp</a>"
             "<img src=\"data:image/svg+xml;base64,PHN2Zz4=\" onerror=\"alert(7)\">"
             "<a href=\"vbscript:x\">vb</a><a href=\"https://ok.example/\">ok</a>]]>",
             link="javascript:alert(8)",
             extra='<enclosure url="file:///etc/passwd" type="text/plain" length="1"/>'
                   '<enclosure url="https://hostile.example/a.mp3" type="audio/mpeg" '
                   'length="123"/>')),
    "absurd-dates.xml": rss(
        item("Epoch", link="https://hostile.example/a").replace(
            "Mon, 03 May 2021 09:30:00 GMT", "Thu, 01 Jan 1970 00:00:00 GMT")
        + item("Future", link="https://hostile.example/b").replace(
            "Mon, 03 May 2021 09:30:00 GMT", "Fri, 01 Jan 2999 00:00:00 GMT")
        + item("Impossible", link="https://hostile.example/c").replace(
            "Mon, 03 May 2021 09:30:00 GMT", "Tue, 30 Feb 2021 10:00:00 GMT")
        + item("Nonsense", link="https://hostile.example/d").replace(
            "Mon, 03 May 2021 09:30:00 GMT", "yesterday-ish")),
    "huge-fields.xml": rss(item("T" * 5000, "<p>" + "word " * 20000 + "</p>",
                                extra="".join(f"<category>c{i}</category>" for i in range(300))
                                + f"<category>{'x' * 5000}</category>")),
    "many-entries.xml": rss("".join(
        item(f"Entry {i}", link=f"https://hostile.example/{i}").replace(
            "Mon, 03 May 2021 09:30:00 GMT", f"Mon, 03 May 2021 {i % 24:02d}:{i % 60:02d}:00 GMT")
        for i in range(1000))),
    "wrong-charset.xml": rss(item("Café déclaré latin-1")).replace(
        'encoding="utf-8"', 'encoding="iso-8859-1"'),
    "json-wrong-types.json": '{"version": "https://jsonfeed.org/version/1.1", "title": "T", '
                             '"items": [{"id": "1", "title": 42}]}',
    "json-items-not-list.json": '{"version": "https://jsonfeed.org/version/1", "title": "T", '
                                '"items": {"id": "1"}}',
    "json-deep.json": '{"version": "https://jsonfeed.org/version/1", "title": "T", "items": '
                      + "[" * 50000 + "]" * 50000 + "}",
    "json-hostile-content.json": '{"version": "https://jsonfeed.org/version/1.1", "title": '
                                 '"<b>T</b>", "items": [{"id": "1", "url": "javascript:alert(1)",'
                                 ' "title": "<script>x</script>J", "content_html": "<p>ok</p>'
                                 '<script>alert(1)</script><img src=x onerror=alert(2)>", '
                                 '"date_published": "0001-01-01T00:00:00Z"}]}',
    "not-a-feed.html": "<!DOCTYPE html><html><head><title>Hi</title></head><body>"
                       "<p>Just a page</p></body></html>",
}
BINARY: dict[str, bytes] = {
    "utf16-hidden-doctype.xml": (
        '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE rss [<!ENTITY lol0 "lol">'
        + LOLS + ']><rss version="2.0"><channel><title>UTF-16</title>'
        "<link>https://hostile.example/</link>"
        + item("Wide &lol9; café") + "</channel></rss>").encode("utf-16"),
    "utf16be-no-bom.xml": (
        '<?xml version="1.0" encoding="utf-16be"?><!DOCTYPE rss [<!ENTITY x SYSTEM '
        '"file:///etc/passwd">]><rss version="2.0"><channel><title>BE</title>'
        + item("Big end &x;") + "</channel></rss>").encode("utf-16-be"),
    "invalid-bytes.xml": rss(item("Bad \udcff bytes")).encode("utf-8", "surrogateescape")
    .replace(b"\xed\xb3\xbf", b"\xff\xfe\xc3"),
}

if __name__ == "__main__":
    for name, text in CASES.items():
        (HERE / name).write_text(text if isinstance(text, str) else "", encoding="utf-8")
    for name, data in BINARY.items():
        (HERE / name).write_bytes(data)
    print(f"{len(CASES) + len(BINARY)} files written to {HERE}")
