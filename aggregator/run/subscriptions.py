"""The service's WebSub subscriptions (ingest/push.py holds the rules): hubs' callbacks on
the server thread; between cycles, on the scheduler thread, what hubs verified is stored,
what they pushed is ingested like a poll, and due subscriptions are asked for."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

from aggregator.errors import FetchError
from aggregator.ingest.push import Push, Subscriber
from aggregator.models import Fetched, SourceState
from aggregator.run.facade import Facade

log = logging.getLogger("aggregator")

Answer = tuple[int, str, bytes]


class Subscriptions:
    def __init__(self, agg: Facade) -> None:
        self.agg = agg
        self.subscriber = Subscriber(agg.settings.hub.base_url, agg.clock)

    def load(self) -> None:
        self.subscriber.load(self.agg.store.source_states())

    def callback(self, method: str, path: str, query: dict[str, str],
                 headers: dict[str, str], body: bytes) -> Answer:
        """A hub's verification (GET) or push (POST) for one source (server thread)."""
        source_id = path.removeprefix("/websub/")
        if method == "GET":
            return self.subscriber.verify(source_id, query)
        return self.subscriber.push(source_id, body, headers)

    def admit(self, method: str, path: str, headers: Mapping[str, str]) -> Answer | None:
        """A push's head (server thread): its body is read only if this says nothing."""
        if method != "POST":
            return None
        return self.subscriber.admit(path.removeprefix("/websub/"), headers)

    def upkeep(self) -> None:
        """Between cycles (scheduler thread): keep what hubs verified, ingest what they
        pushed, and ask for the subscriptions that are due (new, renewals, retries)."""
        store, metrics = self.agg.store, self.agg.metrics
        changed = self.subscriber.take_changed()
        if changed:
            store.apply([], [replace(store.source_state(sid) or SourceState(sid),
                                     websub=sub) for sid, sub in changed.items()])
        pushes = self.subscriber.take_pushes()
        for push in pushes:
            self._ingest_push(push)
        metrics.pushes.labels("accepted").inc(len(pushes))
        rejected, self.subscriber.rejected = self.subscriber.rejected, 0
        metrics.pushes.labels("rejected").inc(rejected)
        self._subscribe_due()
        if pushes:
            self.agg.publish()

    def _ingest_push(self, push: Push) -> None:
        from aggregator.ingest.source import read_document
        from aggregator.run.outcomes import apply_outcomes

        settings, store = self.agg.settings, self.agg.store
        source = next((s for s in settings.sources if s.id == push.source_id), None)
        if source is None:
            return
        state = store.source_state(source.id)
        topic = state.websub.topic if state and state.websub else (source.url or "")
        tools = self.agg.tools()
        pushed = Fetched(url=topic, body=push.body, content_type=push.content_type,
                         etag=state.etag if state else None,  # the poll keeps its validators
                         last_modified=state.last_modified if state else None)
        outcome = read_document(source, state, tools, self.agg.clock(), lambda: {}, pushed,
                                topic)
        results = apply_outcomes(store, [outcome], settings, tools.taxonomy.fallback,
                                 self.agg.clock())
        log.info("source %s: pushed by its hub: %s", source.id, results[source.id].outcome)

    def _subscribe_due(self) -> None:
        now = self.agg.clock()
        for source in self.agg.settings.sources:
            state = self.agg.store.source_state(source.id)
            want = self.subscriber.wanted(state, now) if state and source.enabled and \
                source.url else None
            if want is None or state is None:
                continue
            try:
                status = self.agg.fetcher.post_form(want.hub,
                                                    self.subscriber.form(source.id, want))
            except FetchError as e:
                status, why = 0, str(e)
            else:
                why = f"HTTP {status}"
            kept = self.subscriber.asked(source.id, want)  # asked: not again before ASK_AGAIN
            if status not in (202, 204):
                log.warning("source %s: hub %s refused the subscription: %s", source.id,
                            want.hub, why)
            self.agg.store.apply([], [replace(state, websub=kept)])
