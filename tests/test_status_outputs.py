"""sources.opml follows the sources rather than the entries: it is rendered again only
when what it lists moved (the config, or a feed's own address for a source read from a
file), or when it is gone from disk (2,000 sources: 40 ms of every small publish)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_config

from aggregator import Aggregator
from aggregator.config import load_settings
from aggregator.models import FeedMeta, SourceState
from aggregator.publish import feeds as publish


@pytest.fixture
def opml_rendered(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """Each render of sources.opml: the addresses it was given."""
    calls: list[dict[str, str]] = []
    real = publish.render_sources_opml
    monkeypatch.setattr(publish, "render_sources_opml", lambda settings, urls: (
        calls.append(dict(urls)), real(settings, urls))[1])
    return calls


def test_sources_opml_is_rendered_when_what_it_lists_moved(
        tmp_path: Path, opml_rendered: list[dict[str, str]]) -> None:
    (tmp_path / "local.xml").write_text("<rss version='2.0'><channel/></rss>")
    config = write_config(tmp_path, [
        {"id": "web", "name": "Web", "kind": "member", "url": "http://127.0.0.1:9/a.xml"},
        {"id": "file", "name": "File", "kind": "partner", "path": "local.xml"}])
    out = load_settings(config).output.dir
    with Aggregator(load_settings(config), parse_processes=0) as agg:
        agg.publish()
        assert opml_rendered == [{"web": "http://127.0.0.1:9/a.xml"}]
        first = (out / "sources.opml").read_bytes()

        agg.publish()  # nothing it lists moved
        assert len(opml_rendered) == 1
        assert (out / "sources.opml").read_bytes() == first

        # the file source's feed names its own address: it is listed from now on
        agg.store.apply([], [SourceState("file", feed=FeedMeta(
            title="File", self_link="https://file.example/feed.xml"))])
        agg.publish()
        assert opml_rendered[-1] == {"web": "http://127.0.0.1:9/a.xml",
                                     "file": "https://file.example/feed.xml"}
        assert b"https://file.example/feed.xml" in (out / "sources.opml").read_bytes()

        (out / "sources.opml").unlink()  # gone from disk: rendered again
        agg.publish()
        assert len(opml_rendered) == 3
        assert b"https://file.example/feed.xml" in (out / "sources.opml").read_bytes()
