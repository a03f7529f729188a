"""What the drivers in run/ drive: the part of the facade (core.Aggregator) they call.

A protocol, so that run/ does not import core (core composes run/'s cycle; the service
drives core): no import cycle between the two."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Protocol

from aggregator.config import Settings, SourceSettings
from aggregator.models import CycleReport, SourceState
from aggregator.store import Store

if TYPE_CHECKING:
    from aggregator.ingest.fetch import Fetcher
    from aggregator.ingest.source import Tools
    from aggregator.metrics import Metrics


class Facade(Protocol):
    timings: dict[str, float]  # the last update and publish, in seconds
    settings: Settings
    store: Store
    clock: Callable[[], datetime]

    @property
    def metrics(self) -> Metrics: ...

    @property
    def fetcher(self) -> Fetcher: ...

    def tools(self) -> Tools: ...

    def update(self, source_ids: Iterable[str] = (), due_only: bool = False,
               progress: Callable[[int, int, int, int], None] | None = None,
               on_stored: Callable[[], object] | None = None) -> CycleReport: ...

    def publish(self, full: bool = False) -> list[PurePosixPath]: ...

    def reload(self) -> list[str]: ...

    def enable_source(self, source_id: str, was_disabled: bool = False) -> SourceState: ...

    def note_disabled(self, source_id: str) -> None: ...

    def remove_entry(self, ref: str) -> list[str]: ...

    def purge_source(self, source_id: str) -> list[str]: ...

    def claim_due_sources(self) -> list[SourceSettings]: ...
