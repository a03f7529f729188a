"""Rebuild every output from the store; write only the files whose bytes changed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from .config import Settings
from .files import write_if_changed
from .models import SourceHealth
from .render import FeedSpec
from .render.atom import render_atom, render_status_atom
from .render.html import PageEntry, render_index
from .render.status import render_status
from .store import Store
from .taxonomy import Taxonomy

log = logging.getLogger("aggregator.publish")

STATUS_EVENTS = 100  # entries in status.atom


def feed_specs(settings: Settings, taxonomy: Taxonomy) -> list[FeedSpec]:
    """The combined feed, then one per category (uncategorized last)."""
    hub = settings.hub
    specs = [FeedSpec("all", hub.title, f"{hub.id}feeds/all", f"{hub.base_url}all.atom",
                      hub.base_url, hub.language)]
    for cid in taxonomy.ids:
        specs.append(FeedSpec(cid, f"{hub.title}: {taxonomy.label(cid, hub.language)}",
                              f"{hub.id}feeds/{cid}", f"{hub.base_url}{cid}.atom",
                              hub.base_url, hub.language, category=cid))
    return specs


def render_outputs(settings: Settings, store: Store, health: Sequence[SourceHealth]
                   ) -> dict[str, bytes]:
    """Every output file name -> its bytes; deterministic for a given store."""
    taxonomy = Taxonomy(settings.categories)
    names = {s.id: s.name for s in settings.sources}
    limit = settings.output.entries_per_feed
    specs = feed_specs(settings, taxonomy)
    out: dict[str, bytes] = {}
    counts: dict[str, int] = {}
    for spec in specs:
        entries = store.entries(category=spec.category)
        if spec.category:
            counts[spec.category] = len(entries)
        out[f"{spec.name}.atom"] = render_atom(spec, entries[:limit], settings, taxonomy, names)
    page = [PageEntry(e, names.get(e.source_id, e.source_id),
                      tuple((c, taxonomy.label(c, settings.hub.language)) for c in e.categories))
            for e in store.entries()[:limit]]
    out["index.html"] = render_index(settings.hub.title, settings.hub.language, specs, page,
                                     counts)
    out["status.json"] = render_status(health)
    out["status.atom"] = render_status_atom(store.events(STATUS_EVENTS), settings, names)
    return out


def publish(settings: Settings, store: Store, health: Sequence[SourceHealth]) -> list[Path]:
    """Write the outputs that changed; return their paths."""
    out_dir = settings.output.dir
    changed = []
    for name, data in render_outputs(settings, store, health).items():
        path = out_dir / name
        if write_if_changed(path, data):
            changed.append(path)
    log.info("published %d changed file(s) in %s", len(changed), out_dir)
    return changed
