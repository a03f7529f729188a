"""What each output was last rendered from: a short digest of what it shows, by output name
(kept by the caller between publishes, and in the output dir between processes), so a page
whose input did not move and that is still on disk is not rendered again."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from aggregator.publish.sink import Sink

UNCHANGED = object()  # as a key: the caller knows its input did not move (is it there?)


class Memo:
    """``memo(name, key)``: whether ``name`` is on disk as rendered from ``key`` (else it
    remembers ``key`` for it: the caller renders it now). Without a sink nothing is fresh."""

    def __init__(self, sink: Sink | None = None, kept: dict[str, object] | None = None
                 ) -> None:
        self.kept: dict[str, object] = {} if kept is None else kept
        self._sink = sink
        # by the key object: one source's pages in every tree are checked against one key
        # (the object is kept with its digest, so its id is not reused)
        self._digests: dict[int, tuple[object, str]] = {}

    def digest(self, key: object) -> str:
        known = self._digests.get(id(key))
        if known is None or known[0] is not key:
            known = self._digests[id(key)] = (key, hashlib.sha256(repr(key).encode(
                "utf-8")).hexdigest()[:20])
        return known[1]

    def __call__(self, name: str, key: object) -> bool:
        if self._sink is None:
            return False
        if key is UNCHANGED:
            return name in self.kept and self._sink.present(name)
        digest = self.digest(key)
        if self.kept.get(name) == digest and self._sink.present(name):
            return True
        self.kept[name] = digest
        return False

    def stale(self, pairs: Iterable[tuple[str, object]]) -> set[str]:
        """The names among ``(name, key)`` pairs that are not fresh (each remembered with its
        key, as ``memo(name, key)`` would): thousands of health pages checked in one loop."""
        if self._sink is None:
            return {name for name, _ in pairs}
        kept, present, digest = self.kept, self._sink.present, self.digest
        out = set()
        for name, key in pairs:
            d = digest(key)
            if kept.get(name) != d or not present(name):
                kept[name] = d
                out.add(name)
        return out
