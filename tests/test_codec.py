"""The store's codec is derived from the records: every field is written, in field order,
and read back equal; stores of earlier versions (missing or null keys) still read."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import SHIPPED_SOURCES, write_config

from aggregator import Aggregator
from aggregator.config import load_settings
from aggregator.models import SourceEvent, SourceState, StoredEntry, WebSubState
from aggregator.store.codec import (
    entry_from_dict,
    entry_to_dict,
    event_from_dict,
    event_to_dict,
    state_from_dict,
    state_to_dict,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[StoredEntry],
                                                               list[SourceState]]:
    import shutil

    from conftest import EXAMPLES
    root = tmp_path_factory.mktemp("codec")
    shutil.copytree(EXAMPLES, root / "examples")
    with Aggregator(load_settings(write_config(root, SHIPPED_SOURCES)),
                    parse_processes=0) as agg:
        agg.update()
        return (agg.store.entries(include_duplicates=True),
                list(agg.store.source_states().values()))


def names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def test_every_field_is_written_in_order_and_read_back(
        stored: tuple[list[StoredEntry], list[SourceState]]) -> None:
    entries, states = stored
    assert entries and states
    for e in entries:
        assert list(entry_to_dict(e)) == names(StoredEntry)
        assert entry_from_dict(entry_to_dict(e)) == e
    pushed = dataclasses.replace(states[0], websub=WebSubState("https://hub.example/", "t",
                                                               "s", "active", NOW, NOW))
    for s in [*states, pushed]:
        assert list(state_to_dict(s)) == names(SourceState)
        assert state_from_dict(state_to_dict(s)) == s
    event = SourceEvent("city", "failing", NOW, "HTTP 500")
    assert list(event_to_dict(event)) == names(SourceEvent)
    assert event_from_dict(event_to_dict(event)) == event


def test_stores_of_earlier_versions_still_read(
        stored: tuple[list[StoredEntry], list[SourceState]]) -> None:
    entry = entry_to_dict(stored[0][0])
    old = {k: v for k, v in entry.items() if k not in ("own_categories", "story", "revisions",
                                                         "fingerprints", "image", "via")}
    read = entry_from_dict({**old, "authors": None, "revision_window": None})
    assert read.own_categories == tuple(entry["categories"]) and read.via == ()
    assert read.story == (entry["canonical_link"] or entry["key"]) and read.revisions == 0
    assert read.fingerprints and read.authors == () and read.image is None
    state = state_from_dict({"source_id": "city", "failures": "2", "identity": None,
                             "websub": {"hub": "h", "topic": "t", "secret": "s"}})
    assert state.failures == 2 and state.identity == "guid" and state.websub is not None
    assert state.websub.status == "pending" and state.unmapped == {} and state.report == ()
    with pytest.raises(ValueError, match="lacks a date"):
        entry_from_dict({**entry, "published": None})


def test_a_new_field_needs_no_codec_change(tmp_path: Path) -> None:
    from aggregator.store.codec import decode, encode

    @dataclasses.dataclass(frozen=True)
    class Later:
        at: datetime
        tags: tuple[str, ...] = ()
        note: str | None = None

    later = Later(NOW, ("a", "b"), "n")
    assert encode(later) == {"at": NOW.isoformat(), "tags": ["a", "b"], "note": "n"}
    assert decode(Later, encode(later)) == later
    assert decode(Later, {"at": NOW.isoformat()}) == Later(NOW)


def test_records_read_back_are_made_as_their_init_makes_them(
        stored: tuple[list[StoredEntry], list[SourceState]]) -> None:
    """The decoder puts a frozen record's fields straight into its dict (its __init__ sets
    each through object.__setattr__: a third of decoding an entry); the record is the one
    __init__ makes. A record whose __init__ does more is still made by it."""
    from aggregator.store.codec import decode

    entries, states = stored
    for record in [*entries, *states]:
        made = type(record)(**{f.name: getattr(record, f.name)
                               for f in dataclasses.fields(record)})
        read = entry_from_dict(entry_to_dict(record)) if isinstance(record, StoredEntry) \
            else state_from_dict(state_to_dict(record))
        assert read == made and repr(read) == repr(made) and vars(read) == vars(made)
        assert list(vars(read)) == names(type(record))  # in field order

    @dataclasses.dataclass(frozen=True)
    class Checked:
        at: datetime
        later: datetime | None = None

        def __post_init__(self) -> None:
            object.__setattr__(self, "later", self.later or self.at)

    assert decode(Checked, {"at": NOW.isoformat()}).later == NOW  # its __post_init__ ran
