"""One source is one unit of work: ``ingest`` alone (no store), and storing its outcome."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import EXAMPLES, write_config
from support.scripted import Reply, ScriptedServer

from aggregator.config import Settings, load_settings
from aggregator.config.taxonomy import Taxonomy
from aggregator.errors import StoreError
from aggregator.ingest.fetch import Fetcher
from aggregator.ingest.language import LanguageChooser
from aggregator.ingest.parse.feedparser_path import parse_feed
from aggregator.ingest.source import Tools, ingest
from aggregator.models import ParsedFeed, SourceState
from aggregator.outcome import ErrorKind, SourceOutcome
from aggregator.run.outcomes import apply_outcomes
from aggregator.store import open_store

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FEED = (EXAMPLES / "durban-member-rss1.xml").read_bytes()
RSS = {"Content-Type": "application/rss+xml"}



def settings_for(tmp_path: Path, urls: dict[str, str]) -> Settings:
    sources = [{"id": sid, "name": sid, "kind": "member", "url": url}
               for sid, url in urls.items()]
    return load_settings(write_config(tmp_path, sources, poll={
        "timeout": "3s", "allow_hosts": ["127.0.0.1"]}))


def tools_for(settings: Settings, parser: object = parse_feed) -> Tools:
    return Tools(settings, Fetcher.create(settings, None, lambda: NOW), parser,  # type: ignore[arg-type]
                 Taxonomy(settings.categories),
                 LanguageChooser(settings.hub.languages, settings.hub.language))


def no_links() -> dict[str, str]:
    return {}


def test_ingest_needs_no_store_and_returns_a_frozen_outcome(tmp_path: Path,
                                                            server: ScriptedServer) -> None:
    server.routes["/f"] = Reply(200, FEED, RSS | {"ETag": '"1"'})
    settings = settings_for(tmp_path, {"s": server.url("/f")})
    outcome = ingest(settings.source("s"), None, tools_for(settings), NOW, no_links)
    assert outcome.error is None and outcome.status == 200 and outcome.format
    assert outcome.candidates and {c.source_id for c in outcome.candidates} == {"s"}
    assert outcome.entries_read == len(outcome.candidates)
    assert not (tmp_path / "data").exists()  # nothing was stored anywhere
    with pytest.raises(dataclasses.FrozenInstanceError):
        outcome.candidates = ()  # type: ignore[misc]


def test_ingest_reports_failures_as_typed_errors(tmp_path: Path, server: ScriptedServer
                                                 ) -> None:
    server.routes["/down"] = Reply(503, b"", {"Retry-After": "120"})
    server.routes["/junk"] = Reply(200, b"\x00\x01 not a feed", RSS)
    server.routes["/ok"] = Reply(200, FEED, RSS)
    settings = settings_for(tmp_path, {"down": server.url("/down"),
                                       "junk": server.url("/junk"), "ok": server.url("/ok")})

    def broken(body: bytes, url: str, content_type: str | None) -> ParsedFeed:
        raise RuntimeError("a bug in a parser")

    down, junk = (ingest(settings.source(s), None, tools_for(settings), NOW, no_links)
                  for s in ("down", "junk"))
    bug = ingest(settings.source("ok"), None, tools_for(settings, broken), NOW, no_links)
    assert down.error is not None and down.error.kind is ErrorKind.FETCH
    assert (down.status, down.retry_after) == (503, 120)
    assert junk.error is not None and junk.error.kind is ErrorKind.PARSE
    assert bug.error is not None and bug.error.kind is ErrorKind.INTERNAL
    assert str(bug.error) == "internal error: RuntimeError: a bug in a parser"


def test_a_304_outcome_carries_no_candidates(tmp_path: Path, server: ScriptedServer) -> None:
    server.routes["/f"] = Reply(304, b"", {"ETag": '"1"'})
    settings = settings_for(tmp_path, {"s": server.url("/f")})
    outcome = ingest(settings.source("s"), SourceState("s", etag='"1"'), tools_for(settings),
                     NOW, no_links)
    assert outcome.error is None and outcome.status == 304 and not outcome.parsed
    assert outcome.candidates == ()


def test_one_outcome_is_stored_whole_or_not_at_all(tmp_path: Path, server: ScriptedServer,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    server.routes["/f"] = Reply(200, FEED, RSS | {"ETag": '"1"'})
    settings = settings_for(tmp_path, {"s": server.url("/f")})
    outcome = ingest(settings.source("s"), None, tools_for(settings), NOW, no_links)
    store = open_store(tmp_path / "store.json")
    real = os.replace

    def full_disk(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(StoreError, match="No space left"):
        apply_outcomes(store, [outcome], settings, "", NOW)
    assert store.count() == 0 and store.source_state("s") is None  # nothing half-stored
    monkeypatch.setattr(os, "replace", real)
    results = apply_outcomes(store, [outcome], settings, "", NOW)
    store.close()
    again = open_store(tmp_path / "store.json", readonly=True)
    try:
        assert results["s"].outcome == "updated" and results["s"].new == again.count() > 0
        state = again.source_state("s")
        assert state is not None and state.etag == '"1"' and state.last_success == NOW
    finally:
        again.close()


def test_a_deferred_outcome_keeps_its_wait(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, {"s": "https://example.org/f"})
    store = open_store(None)
    later = datetime(2026, 3, 1, 13, 0, tzinfo=UTC)
    results = apply_outcomes(store, [SourceOutcome("s", deferred_until=later)], settings, "",
                             NOW)
    assert results["s"].outcome == "deferred"
    state = store.source_state("s")
    assert state is not None and state.next_check_at == later and state.last_attempt is None
