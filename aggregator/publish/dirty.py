"""publish_dirty: bring the outputs up to date with the store, the one publishing step the
service, `poll`, `build` and the Celery publish task all take.

It renders what the store's dirty markers touch (everything when asked, or when the outputs
were built by another version or config: the build id), writes only bytes that changed,
clears the markers it published, and pings the WebSub hub for exactly the feeds that
changed (failed pings are retried at the next publish)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath

from aggregator.config import Settings
from aggregator.models import Dirty, SourceHealth
from aggregator.publish.feeds import feed_urls, publish
from aggregator.publish.health import source_health
from aggregator.publish.plan import BUILD_ID, RenderPlan, build_id
from aggregator.publish.sink import Sink
from aggregator.publish.websub import WebSubPublisher
from aggregator.store import Store


def publish_dirty(settings: Settings, store: Store, sink: Sink,
                  websub: WebSubPublisher | None, rendered: dict[str, object],
                  full: bool = False, timings: Mapping[str, float] | None = None,
                  health: Sequence[SourceHealth] | None = None) -> list[PurePosixPath]:
    """Render and write what changed (``full``: everything); the changed outputs' names.
    ``rendered`` remembers what each member page was rendered from, between calls;
    ``health``: the sources' as the caller has just read them (None: read here)."""
    dirty = store.dirty()
    plan = RenderPlan.of(settings, sink, dirty, full)
    health = source_health(settings, store) if health is None else health
    changed = publish(settings, store, health, sink,
                      websub.status() if websub else None, plan, rendered, timings)
    sink.write(BUILD_ID, build_id(settings))
    store.clear_dirty(dirty)
    return changed


def ping_hub(settings: Settings, store: Store, sink: Sink, websub: WebSubPublisher,
             changed: list[PurePosixPath], rendered: dict[str, object],
             timings: Mapping[str, float] | None = None) -> None:
    """Tell the WebSub hub which feeds changed (and retry the pings that failed); when the
    pings' outcome changed, status.json, which reports them, is written again."""
    if not (changed or websub.pending):
        return
    before = websub.status()
    websub.publish(feed_urls(settings, changed))
    if websub.status() != before:
        publish(settings, store, source_health(settings, store), sink, websub.status(),
                RenderPlan.of(settings, sink, Dirty()), rendered, timings)
