"""Values copied from third parties into constrained places, and one title rule: regression
cases for what outside test suites found (each class of defect, not one file)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FeedServer, Response, write_config
from lxml import etree
from support.atomcheck import assert_valid_atom

from aggregator import Aggregator
from aggregator.config import load_settings
from aggregator.ingest.parse.feedparser_path import parse_feed

A = "{http://www.w3.org/2005/Atom}"

FEED = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr">
<title>Ville</title><id>not an iri</id><link href="https://ville.example/"/>
<updated>2021-06-01T00:00:00Z</updated><author><name>Ville</name></author>
<entry><title>Podcast</title><id>tag:ville.example,2021:1</id>
 <link href="https://ville.example/p/1"/><updated>2021-06-01T00:00:00Z</updated>
 <link rel="enclosure" type="mp3" length="12 kB" href="https://ville.example/e.mp3"/>
 <summary>x</summary></entry>
<entry><title>Été à Zürich</title><id>tag:ville.example,2021:2</id>
 <link href="https://bücher.example/été/à?q=ü#fin"/><updated>2021-06-02T00:00:00Z</updated>
 <link rel="enclosure" type="audio/mpeg; charset=x" href="https://ville.example/son%20été.mp3"/>
 <summary>y</summary></entry>
<entry><title type="text">Les &lt;Enfants&gt; d'abord</title><id>tag:ville.example,2021:3</id>
 <link href="https://ville.example/p/3"/><updated>2021-06-03T00:00:00Z</updated>
 <content type="text">Accueil des &lt;Enfants&gt; au centre, tous les mercredis.</content>
</entry>
<entry><title></title><id>tag:ville.example,2021:4</id>
 <updated>2021-06-04T00:00:00Z</updated></entry>
</feed>"""


@pytest.fixture
def published(tmp_path: Path, feed_server: FeedServer) -> tuple[Aggregator, Path, str]:
    feed_server.routes["/feed.atom"] = Response(200, FEED.encode(), {
        "Content-Type": "application/atom+xml"})
    url = feed_server.url("/feed.atom")
    config = write_config(tmp_path, [{"id": "ville", "name": "Ville", "url": url,
                                      "kind": "member", "language": "fr"}])
    agg = Aggregator(load_settings(config), parse_processes=0)
    assert agg.update().failed == 0
    agg.publish()
    yield agg, agg.settings.output.dir, url
    agg.close()


def _entries(root: etree._Element) -> dict[str, etree._Element]:
    return {e.findtext(f"{A}id").rsplit("/", 1)[-1]: e for e in root.iter(f"{A}entry")}


def test_atom_stays_valid_and_source_is_faithful(
        published: tuple[Aggregator, Path, str]) -> None:
    _, out, url = published
    root = assert_valid_atom((out / "all.atom").read_bytes())  # RFC 4287 RELAX NG
    entries = list(root.iter(f"{A}entry"))
    assert len(entries) == 4 and len(root.findall(f".//{A}link[@rel='enclosure']")) == 2
    for entry in entries:
        for link in entry.findall(f"{A}link[@rel='enclosure']"):
            assert link.get("type") in (None, "audio/mpeg")  # "mp3" dropped, params too
            assert link.get("length") is None  # "12 kB" is no length
        source = entry.find(f"{A}source")
        assert source.findtext(f"{A}id") == "https://ville.example/"  # not "not an iri"
        self_links = [x.get("href") for x in source.findall(f"{A}link[@rel='self']")]
        assert self_links == [url]  # the URL the hub polled


def test_rss_carries_uris(published: tuple[Aggregator, Path, str]) -> None:
    _, out, _ = published
    rss = etree.fromstring((out / "all.rss").read_bytes())
    links = [x.text for x in rss.iter("link")] + [x.get("url") for x in rss.iter("enclosure")] \
        + [x.get("url") for x in rss.iter("source")]
    assert all(v is None or v.isascii() for v in links), links
    assert "https://xn--bcher-kva.example/%C3%A9t%C3%A9/%C3%A0?q=%C3%BC#fin" in links
    assert "https://ville.example/son%20%C3%A9t%C3%A9.mp3" in links


def test_text_in_angle_brackets_is_text(published: tuple[Aggregator, Path, str]) -> None:
    agg, out, _ = published
    (entry,) = [e for e in agg.store.entries() if e.title.startswith("Les")]
    assert entry.title == "Les <Enfants> d'abord"
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "Accueil des &lt;Enfants&gt; au centre" in page
    items = json.loads((out / "all.json").read_text(encoding="utf-8"))["items"]
    (item,) = [i for i in items if "Enfants" in json.dumps(i, ensure_ascii=False)]
    text = item.get("content_text") or item.get("summary") or item.get("content_html", "")
    assert "<Enfants>" in text or "&lt;Enfants&gt;" in text


def test_one_title_rule_in_every_output(published: tuple[Aggregator, Path, str]) -> None:
    _, out, _ = published
    atom = _entries(etree.fromstring((out / "all.atom").read_bytes()))
    titles = {e.findtext(f"{A}title") for e in atom.values()}
    assert "(untitled)" in titles
    rss_titles = {x.findtext("title") for x in etree.fromstring(
        (out / "all.rss").read_bytes()).iter("item")}
    json_titles = {i["title"] for i in json.loads((out / "all.json").read_text())["items"]}
    assert "(untitled)" in rss_titles and "(untitled)" in json_titles
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "(untitled)" in page
    # titles some readers render as HTML lose tag-like text in RSS and JSON Feed
    assert "Les d'abord" in rss_titles and "Les d'abord" in json_titles


def test_status_json_tells_of_the_pings_just_made(tmp_path: Path, feed_server: FeedServer
                                                  ) -> None:
    feed_server.routes["/hub"] = Response(204)
    feed_server.routes["/feed.atom"] = Response(200, FEED.encode(), {})
    config = write_config(tmp_path, [{"id": "ville", "name": "Ville",
                                      "url": feed_server.url("/feed.atom"), "kind": "member"}],
                          hub={"title": "T", "base_url": "http://127.0.0.1:8080/",
                               "id": "tag:t,2026:", "languages": ["en", "fr"],
                               "contact": "mailto:t@example.org",
                               "websub_hub": feed_server.url("/hub")})
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.update()
        agg.publish()
        status = json.loads((agg.settings.output.dir / "status.json").read_text())
    assert status["websub"]["last_ping"] is not None


def test_closed_pipe_and_taken_port_end_in_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, [], serve={"host": "127.0.0.1", "port": 1})
    listing = subprocess.run(
        f"{sys.executable} -m aggregator --config {config} status --json | head -c 1",
        shell=True, capture_output=True, text=True, timeout=60)
    assert "Traceback" not in listing.stderr and "BrokenPipe" not in listing.stderr
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path, [], serve={"host": "127.0.0.1", "port": port})
        served = subprocess.run([sys.executable, "-m", "aggregator", "serve", "--config",
                                 str(config)], capture_output=True, text=True, timeout=60)
    assert served.returncode == 1 and "Traceback" not in served.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in served.stderr


UNDECLARED = ("<rss version=\"2.0\"><channel><title>市報</title><link>https://city.example.jp/"
              "</link><item><title>ゲーム三昧な正月、市民ホールで</title><link>https://city."
              "example.jp/n/1</link><description>正月の催し</description></item></channel></rss>")


@pytest.mark.parametrize("codec", ["euc_jp", "shift_jis", "gb18030", "koi8_r"])
def test_an_undeclared_non_utf8_feed_is_detected(codec: str) -> None:
    text = UNDECLARED if codec != "koi8_r" else UNDECLARED.replace(
        "ゲーム三昧な正月、市民ホールで", "Новогодние праздники в городской ратуше").replace(
        "市報", "Городские новости").replace("正月の催し", "Праздничная программа для жителей")
    parsed = parse_feed(text.encode(codec), "https://city.example.jp/rss")
    assert parsed.entries[0].title == text.split("<item><title>")[1].split("<")[0]


def test_a_declared_encoding_is_believed_and_a_broken_one_keeps_the_windows_1252_reading(
        ) -> None:
    body = "<rss version=\"2.0\"><channel><title>t</title><item><title>Café über</title>" \
           "<link>https://ville.example/1</link></item></channel></rss>"
    latin = body.encode("latin-1")
    header = parse_feed(latin, "https://ville.example/rss",
                        "application/rss+xml; charset=iso-8859-1")
    assert header.entries[0].title == "Café über"
    declared = parse_feed(b'<?xml version="1.0" encoding="utf-8"?>' + latin, "https://v.example/")
    assert declared.entries[0].title == "Café über"  # declared UTF-8, written cp1252: fallback
