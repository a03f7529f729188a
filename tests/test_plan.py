"""What to render: one plan (publish/plan.py) for the feeds, the site and the index."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest
from conftest import write_config

from aggregator.config import load_settings
from aggregator.models import Dirty
from aggregator.publish.plan import BUILD_ID, FIRST_PAGE, RenderPlan, build_id
from aggregator.publish.sink import DirectorySink

CHANGED = Dirty(categories=frozenset({"mobility"}), languages=frozenset({"fr-CA", ""}),
                sources=frozenset({"montreal"}))


@pytest.mark.parametrize(("language", "category", "source", "touched"), [
    (None, None, None, True),  # the combined feed, the home page
    ("fr", None, None, True),  # fr-CA is French
    ("en", None, None, True),  # an entry that names no language is in the hub's (en)
    ("es", None, None, False),
    (None, "mobility", None, True),
    (None, "culture", None, False),
    ("fr", "mobility", "montreal", True),
    (None, None, "sousse", False),
])
def test_a_listing_is_touched_by_its_language_category_and_source(
        language: str | None, category: str | None, source: str | None, touched: bool) -> None:
    plan = RenderPlan(CHANGED, "en")
    assert plan.touches(language, category, source) is touched
    assert RenderPlan(None, "en").touches(language, category, source)  # a whole build
    assert not RenderPlan(Dirty(), "en").touches(language, category, source)  # quiet


def test_sealed_pages_and_whole_builds(tmp_path: Path) -> None:
    (tmp_path / "feeds").mkdir()
    on_disk = {"archive/all/1.atom", "archive/all/2.atom", "archive/all/4.atom"}
    plan = RenderPlan(CHANGED, "en", on_disk.__contains__)
    assert plan.sealed("archive/all/1.atom", "archive/all/2.atom")
    assert not plan.sealed("archive/all/2.atom", "archive/all/3.atom")
    assert not plan.sealed("archive/all/3.atom", "archive/all/4.atom")  # gone: rendered
    assert not plan.sealed("archive/all/2.atom", None)
    whole = RenderPlan(None, "en", on_disk.__contains__)
    assert not whole.sealed("archive/all/1.atom", "archive/all/2.atom")  # the site: all again
    assert whole.sealed("archive/all/1.atom", "archive/all/2.atom",
                        also_when_whole=True)  # Atom archives stay


def test_a_new_config_or_an_emptied_output_dir_renders_everything(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, []))
    sink = DirectorySink(settings.output.dir)
    assert RenderPlan.of(settings, sink, CHANGED).whole  # nothing built yet
    sink.write(BUILD_ID, build_id(settings))
    sink.write(FIRST_PAGE, b"<!doctype html>")
    assert RenderPlan.of(settings, sink, CHANGED).dirty == CHANGED
    assert RenderPlan.of(settings, sink, CHANGED, full=True).whole
    sink.write(BUILD_ID, b"another version\n")
    assert RenderPlan.of(settings, sink, CHANGED).whole
    sink.write(BUILD_ID, build_id(settings))
    (settings.output.dir / FIRST_PAGE).unlink()
    assert RenderPlan.of(settings, sink, CHANGED).whole
    assert PurePosixPath("index.html") == FIRST_PAGE
