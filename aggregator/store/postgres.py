"""The PostgreSQL store: the Store protocol (store/__init__.py) over psycopg 3 and a
connection pool, for hubs that outgrow one machine (scale-out: many workers, one database).

Every record is its codec JSON (``doc``, jsonb) plus the columns that lookups, order and the
schedule need (migrations/001_initial.sql). ``apply`` is one transaction. Beyond the
protocol, the scale-out path uses:

- ``claim(now, limit, lease)``: due sources claimed with ``FOR UPDATE SKIP LOCKED`` (two
  schedulers never get the same row), their next check pushed to ``now + lease`` and a
  fresh claim token stamped, in one statement;
- ``apply(..., fence={source: token})``: store an outcome only while its claim still holds
  (a worker whose lease ran out and whose source was claimed again writes nothing);
- ``exclusive(name)``: a session advisory lock, held across story resolution (plan, then
  apply) so two workers storing the same story at the same moment end as one story, and
  across publishing (one publisher at a time).
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aggregator.errors import ClaimLost, StoreError
from aggregator.models import Dirty, SourceEvent, SourceState, StoredEntry
from aggregator.store.codec import (
    entry_from_dict,
    entry_to_dict,
    event_from_dict,
    event_to_dict,
    state_from_dict,
    state_to_dict,
)
from aggregator.store.memory import MAX_EVENTS
from aggregator.store.rows import Row
from aggregator.stories.order import NEWEST_FIRST_SQL, in_arrival_order
from aggregator.stories.retention import TAKEDOWN_LINK, takedown_link
from aggregator.stories.similarity import bucket_item, bucket_keys

if TYPE_CHECKING:
    from aggregator.stories.plan import Candidate, Lookups

ORDER = NEWEST_FIRST_SQL
PREFETCH_LIMIT = 5000  # stored entries fetched up front for one plan, at most
NOT_IN_ROWS = ("summary", "content", "enclosures", "authors", "raw_categories")  # what a
# row (store/rows.py) does not need of an entry's document: left in the database
DUE_AT = "coalesce(next_check_at, '-infinity'::timestamptz)"  # indexed (migration 002)
_KINDS = {"category": "categories", "language": "languages", "source": "sources",
          "month": "months"}


class PostgresStore:
    def __init__(self, url: str, min_size: int = 1, max_size: int = 4) -> None:
        try:
            from psycopg_pool import ConnectionPool
        except ImportError as e:  # pragma: no cover - an install without the extra
            raise StoreError("store.url needs psycopg: pip install 'lrg-aggregator[scale]'"
                             ) from e
        self.url = url
        self._pool = ConnectionPool(url, min_size=min_size, max_size=max_size, open=False,
                                    kwargs={"autocommit": True})
        try:
            self._pool.open(wait=True, timeout=10)
        except Exception as e:
            raise StoreError(f"cannot reach PostgreSQL at {_safe(url)}: {e}") from e
        self._check_schema()

    # -- plumbing ----------------------------------------------------------------------------

    def _check_schema(self) -> None:
        from aggregator.store.migrate import current_version, latest_version
        with self._pool.connection() as conn:
            found = current_version(conn)
        if found != latest_version():
            raise StoreError(f"the PostgreSQL schema is at version {found}, this version "
                             f"needs {latest_version()}: run `aggregator db upgrade`")

    def _rows(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        try:
            with self._pool.connection() as conn:
                return conn.execute(sql, params).fetchall()
        except Exception as e:
            raise StoreError(f"PostgreSQL: {e}") from e

    def _entries(self, where: str, params: Sequence[Any] = (), tail: str = ORDER
                 ) -> list[StoredEntry]:
        return [entry_from_dict(doc) for (doc,) in self._rows(
            f"SELECT doc FROM entries WHERE {where} {tail}", params)]

    # -- reads -------------------------------------------------------------------------------

    def get(self, key: str) -> StoredEntry | None:
        found = self._entries("key = %s", [key], "")
        return found[0] if found else None

    def by_canonical(self, link: str) -> list[StoredEntry]:
        return self._entries("canonical_link = %s", [link], "ORDER BY key")

    def by_story(self, story: str) -> list[StoredEntry]:
        return self._entries("story = %s", [story], "ORDER BY key")

    def published_between(self, low: datetime, high: datetime) -> list[StoredEntry]:
        return self._entries("published BETWEEN %s AND %s", [low, high],
                             "ORDER BY published, key")

    def by_fingerprint(self, fingerprint: str, low: datetime, high: datetime,
                       title_bits: int | None = None) -> list[StoredEntry]:
        rows = self._rows("SELECT published, key, title FROM entries WHERE fingerprints @> "
                          "ARRAY[%s] AND published BETWEEN %s AND %s ORDER BY published, key",
                          [fingerprint, low, high])
        bucket = sorted(bucket_item(p, k, t) for p, k, t in rows)
        keys = bucket_keys(bucket, low, high, title_bits)
        found = {e.key: e for e in self._entries("key = ANY(%s)", [keys], "")} if keys else {}
        return [found[k] for k in keys if k in found]

    def is_tombstone(self, key: str) -> bool:
        return bool(self._rows("SELECT 1 FROM tombstones WHERE key = %s", [key]))

    def tombstones(self) -> dict[str, datetime]:
        return dict(self._rows("SELECT key, published FROM tombstones ORDER BY key"))

    def entries(self, category: str | None = None, source_id: str | None = None,
                include_duplicates: bool = False, limit: int | None = None
                ) -> list[StoredEntry]:
        where, params = self._filter(category, source_id, include_duplicates)
        tail = ORDER + (" LIMIT %s" if limit is not None else "")
        return self._entries(where, params + ([limit] if limit is not None else []), tail)

    @staticmethod
    def _filter(category: str | None, source_id: str | None, include_duplicates: bool
                ) -> tuple[str, list[Any]]:
        where, params = ["TRUE"], []
        if category is not None:
            where.append("categories @> ARRAY[%s]")
            params.append(category)
        if source_id is not None:
            where.append("source_id = %s")
            params.append(source_id)
        if not include_duplicates:
            where.append("duplicate_of IS NULL")
        return " AND ".join(where), params

    def rows(self, category: str | None = None, source_id: str | None = None,
             include_duplicates: bool = False) -> list[Row]:
        """Each entry's row, from its document without the text (a publish lists every
        entry: the summaries and contents, most of the bytes, stay in the database)."""
        where, params = self._filter(category, source_id, include_duplicates)
        return [Row.of(entry_from_dict(doc)) for (doc,) in self._rows(
            f"SELECT doc - %s::text[] FROM entries WHERE {where} {ORDER}",
            [list(NOT_IN_ROWS), *params])]

    def arrived(self) -> list[Row]:
        return in_arrival_order(self.rows(include_duplicates=True))

    def fetch(self, rows: Sequence[Row], once: bool = False) -> list[StoredEntry]:
        found = {e.key: e for e in self._entries("key = ANY(%s)", [[r.key for r in rows]])}
        return [found[r.key] for r in rows if r.key in found]

    def copies_of(self, key: str) -> list[StoredEntry]:
        return self._entries("duplicate_of = %s", [key], "ORDER BY key")

    def source_state(self, source_id: str) -> SourceState | None:
        rows = self._rows("SELECT doc FROM sources WHERE source_id = %s", [source_id])
        return state_from_dict(rows[0][0]) if rows else None

    def source_states(self) -> dict[str, SourceState]:
        return {sid: state_from_dict(doc) for sid, doc in self._rows(
            "SELECT source_id, doc FROM sources ORDER BY source_id")}

    def count_by_source(self) -> dict[str, int]:
        """Sources whose entries were all pruned count 0 (like the other backends)."""
        return dict(self._rows(
            "SELECT s, sum(n)::int FROM (SELECT source_id AS s, count(*) AS n FROM entries "
            "GROUP BY source_id UNION ALL SELECT split_part(key, ':', 1), 0 FROM tombstones "
            f"WHERE key NOT LIKE '{TAKEDOWN_LINK}%%') "
            "AS found GROUP BY s ORDER BY s"))

    def count_by_category(self) -> dict[str, int]:
        return dict(self._rows(
            "SELECT c, count(*) FROM entries, unnest(categories) AS c "
            "WHERE duplicate_of IS NULL GROUP BY c ORDER BY c"))

    def count(self, category: str | None = None, source_id: str | None = None) -> int:
        where, params = self._filter(category, source_id, False)
        return int(self._rows(f"SELECT count(*) FROM entries WHERE {where}", params)[0][0])

    def oldest(self) -> datetime | None:
        found = self._rows("SELECT least((SELECT min(published) FROM entries), "
                           "(SELECT min(published) FROM tombstones))")
        return found[0][0] if found else None

    def due(self, now: datetime, limit: int) -> list[str]:
        return [sid for (sid,) in self._rows(
            f"SELECT source_id FROM sources WHERE NOT gone AND {DUE_AT} <= %s "
            f"ORDER BY {DUE_AT}, source_id LIMIT %s",
            [now, limit])]

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[str]:
        return [sid for sid, _ in self.claim(now, limit, lease)]

    def claim(self, now: datetime, limit: int, lease: timedelta) -> list[tuple[str, str]]:
        """Due sources claimed for ``lease``: (source id, claim token), soonest first."""
        token = uuid.uuid4().hex
        until = now + lease
        rows = self._rows(
            f"WITH due AS (SELECT source_id FROM sources WHERE NOT gone AND "
            f"{DUE_AT} <= %(now)s ORDER BY {DUE_AT}, source_id LIMIT %(limit)s "
            "FOR UPDATE SKIP LOCKED) "
            "UPDATE sources s SET next_check_at = %(until)s, claim_token = "
            "%(token)s || ':' || s.source_id, doc = jsonb_set(s.doc, '{next_check_at}', "
            "to_jsonb(%(iso)s::text)) FROM due WHERE s.source_id = due.source_id "
            "RETURNING s.source_id, s.claim_token",
            {"now": now, "limit": limit, "until": until, "token": token,
             "iso": until.isoformat()})
        return sorted((sid, tok) for sid, tok in rows)

    def lookups_for(self, candidates: Sequence[Candidate]) -> Lookups:
        """The planner's Lookups for ``candidates`` (stories/plan.py), answered from a few
        queries made up front instead of one round trip per candidate and fingerprint
        (about 290 per source of 36 entries: most of a worker's time, under the story lock).
        Anything not fetched up front is asked of the store as usual."""
        from aggregator.stories.identity import canonical_url
        from aggregator.stories.plan import Lookups
        from aggregator.stories.similarity import lookup_keys
        keys = sorted({c.key for c in candidates})
        links = sorted({link for c in candidates if (link := canonical_url(c.data.link))})
        prints = sorted({fp for c in candidates for fp in lookup_keys(
            c.data.title, c.data.summary or c.data.content, c.data.guid)})
        rows = [entry_from_dict(doc) for (doc,) in self._rows(
            "SELECT doc FROM entries WHERE key = ANY(%s) OR canonical_link = ANY(%s) OR "
            "fingerprints && %s::text[] LIMIT %s", [keys, links, prints, PREFETCH_LIMIT + 1])]
        if len(rows) > PREFETCH_LIMIT:  # a fingerprint too common to fetch whole
            return Lookups(self.get, self.by_canonical, self.by_story, self.by_fingerprint,
                           self.is_tombstone)
        asked = keys + [takedown_link(link) for link in links]
        tombs = {k for (k,) in self._rows("SELECT key FROM tombstones WHERE key = ANY(%s)",
                                          [asked])}
        return _Prefetched(self, rows, set(keys), set(links), set(prints), tombs,
                           set(asked)).lookups()

    def holds(self, source_id: str, token: str) -> bool:
        """Whether the claim ``token`` on the source still holds (not claimed again since)."""
        return bool(self._rows("SELECT 1 FROM sources WHERE source_id = %s AND claim_token = "
                               "%s", [source_id, token]))

    def copies_by_source(self) -> dict[str, int]:
        return dict(self._rows("SELECT source_id, count(*) FROM entries WHERE duplicate_of "
                               "IS NOT NULL GROUP BY source_id ORDER BY source_id"))

    def events(self, limit: int = 100) -> list[SourceEvent]:
        found = [event_from_dict(doc) for (doc,) in self._rows(
            "SELECT doc FROM events ORDER BY id DESC LIMIT %s", [MAX_EVENTS])]
        return sorted(found, key=lambda e: (e.at, e.source_id, e.kind), reverse=True)[:limit]

    @property
    def revision(self) -> int:
        return int(self._rows("SELECT value FROM counters WHERE name = 'revision'")[0][0])

    def dirty(self) -> Dirty:
        found: dict[str, set[str]] = {name: set() for name in _KINDS.values()}
        for kind, value in self._rows("SELECT kind, value FROM dirty"):
            found[_KINDS[kind]].add(value)
        return Dirty.kept(found["categories"], found["languages"], found["sources"],
                          found["months"])

    # -- writes ------------------------------------------------------------------------------

    def clear_dirty(self, published: Dirty) -> None:
        rows = list(_markers(published))
        if not rows:
            return
        with self._transaction() as conn:
            conn.cursor().executemany("DELETE FROM dirty WHERE kind = %s AND value = %s", rows)
            if published.months is None:  # every month was published
                conn.execute("DELETE FROM dirty WHERE kind = 'month'")

    def apply(self, entries: Sequence[StoredEntry], states: Sequence[SourceState],
              events: Sequence[SourceEvent] = (), removed: Sequence[str] = (),
              forgotten: Sequence[str] = (), tombstones: Mapping[str, datetime] | None = None,
              fence: Mapping[str, str] | None = None) -> None:
        from psycopg.types.json import Jsonb
        with self._transaction() as conn:
            cur = conn.cursor()
            if fence:
                self._hold(cur, fence)
            if entries or removed:
                before = [entry_from_dict(doc) for (doc,) in cur.execute(
                    "SELECT doc FROM entries WHERE key = ANY(%s) FOR UPDATE",
                    [[e.key for e in entries] + list(removed)]).fetchall()]
                marks = list(_markers(Dirty.of(entries) | Dirty.of(before)))
                cur.executemany("INSERT INTO dirty VALUES (%s, %s) ON CONFLICT DO NOTHING",
                                marks)
                cur.execute("UPDATE counters SET value = value + 1 WHERE name = 'revision'")
            cur.executemany(
                "INSERT INTO entries VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
                "ON CONFLICT (key) DO UPDATE SET source_id = EXCLUDED.source_id, story = "
                "EXCLUDED.story, canonical_link = EXCLUDED.canonical_link, duplicate_of = "
                "EXCLUDED.duplicate_of, published = EXCLUDED.published, updated = "
                "EXCLUDED.updated, language = EXCLUDED.language, categories = "
                "EXCLUDED.categories, fingerprints = EXCLUDED.fingerprints, title = "
                "EXCLUDED.title, doc = EXCLUDED.doc",
                [(e.key, e.source_id, e.story or e.key, e.canonical_link, e.duplicate_of,
                  e.published, e.updated, e.language or "", list(e.categories),
                  list(e.fingerprints), e.title, Jsonb(entry_to_dict(e))) for e in entries])
            if removed:
                cur.execute("INSERT INTO tombstones SELECT key, published FROM entries WHERE "
                            "key = ANY(%s) ON CONFLICT (key) DO UPDATE SET published = "
                            "EXCLUDED.published", [list(removed)])
                cur.execute("DELETE FROM entries WHERE key = ANY(%s)", [list(removed)])
            if forgotten:
                cur.execute("DELETE FROM tombstones WHERE key = ANY(%s)", [list(forgotten)])
            cur.executemany("INSERT INTO tombstones VALUES (%s, %s) ON CONFLICT (key) DO "
                            "UPDATE SET published = EXCLUDED.published",
                            sorted((tombstones or {}).items()))
            cur.executemany(
                "INSERT INTO sources VALUES (%s, %s, %s, NULL, %s) ON CONFLICT (source_id) DO "
                "UPDATE SET next_check_at = EXCLUDED.next_check_at, gone = EXCLUDED.gone, "
                "claim_token = NULL, doc = EXCLUDED.doc",
                [(s.source_id, s.next_check_at, s.gone, Jsonb(state_to_dict(s)))
                 for s in states])
            if events:
                cur.executemany("INSERT INTO events (at, doc) VALUES (%s, %s)",
                                [(e.at, Jsonb(event_to_dict(e))) for e in events])
                cur.execute("DELETE FROM events WHERE id <= (SELECT max(id) FROM events) - %s",
                            [MAX_EVENTS])

    @staticmethod
    def _hold(cur: Any, fence: Mapping[str, str]) -> None:
        held = dict(cur.execute("SELECT source_id, claim_token FROM sources WHERE source_id = "
                                "ANY(%s) FOR UPDATE", [list(fence)]).fetchall())
        lost = sorted(s for s, token in fence.items() if held.get(s) != token)
        if lost:
            raise ClaimLost(f"claim no longer held for {', '.join(lost)}: outcome dropped")

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield conn
        except StoreError:
            raise
        except Exception as e:
            raise StoreError(f"PostgreSQL write failed: {e}") from e

    @contextmanager
    def exclusive(self, name: str, wait: bool = True) -> Iterator[bool]:
        """Hold the advisory lock ``name`` (one holder across every process) meanwhile;
        with ``wait=False``, yield False at once when another holds it."""
        key = zlib.crc32(name.encode("utf-8"))
        with self._pool.connection() as conn:
            if wait:
                conn.execute("SELECT pg_advisory_lock(%s)", [key])
            elif not (conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
                      or (False,))[0]:
                yield False
                return
            try:
                yield True
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", [key])

    def close(self) -> None:
        self._pool.close()


class _Prefetched:
    """Stored entries fetched for one plan, answering as the store would for the keys,
    links and fingerprints they were fetched by."""

    def __init__(self, store: PostgresStore, rows: list[StoredEntry], keys: set[str],
                 links: set[str], prints: set[str], tombstones: set[str],
                 asked: set[str]) -> None:
        self.store, self.keys, self.links, self.prints = store, keys, links, prints
        self.tombstones, self.asked = tombstones, asked  # found of asked: keys, takedowns
        self.by_key = {e.key: e for e in rows}
        self.canonical: dict[str, list[StoredEntry]] = {}
        self.printed: dict[str, list[StoredEntry]] = {}
        for e in sorted(rows, key=lambda e: e.key):
            if e.canonical_link:
                self.canonical.setdefault(e.canonical_link, []).append(e)
            for fp in e.fingerprints:
                self.printed.setdefault(fp, []).append(e)

    def lookups(self) -> Lookups:
        from aggregator.stories.plan import Lookups
        return Lookups(self.get, self.by_canonical, self.store.by_story, self.by_fingerprint,
                       self.is_tombstone)

    def get(self, key: str) -> StoredEntry | None:
        if key in self.by_key or key in self.keys:
            return self.by_key.get(key)
        return self.store.get(key)

    def by_canonical(self, link: str) -> list[StoredEntry]:
        if link in self.links:
            return list(self.canonical.get(link, ()))
        return self.store.by_canonical(link)

    def by_fingerprint(self, fingerprint: str, low: datetime, high: datetime,
                       title_bits: int | None = None) -> list[StoredEntry]:
        if fingerprint not in self.prints:
            return self.store.by_fingerprint(fingerprint, low, high, title_bits)
        found = [e for e in self.printed.get(fingerprint, ()) if low <= e.published <= high]
        bucket = sorted(bucket_item(e.published, e.key, e.title) for e in found)
        by_key = {e.key: e for e in found}
        return [by_key[k] for k in bucket_keys(bucket, low, high, title_bits)]

    def is_tombstone(self, key: str) -> bool:
        if key in self.asked:
            return key in self.tombstones
        return self.store.is_tombstone(key)


def _markers(d: Dirty) -> Iterable[tuple[str, str]]:
    yield from (("category", c) for c in sorted(d.categories))
    yield from (("language", x) for x in sorted(d.languages))
    yield from (("source", s) for s in sorted(d.sources))
    yield from (("month", m) for m in sorted(d.months or ()))


def _safe(url: str) -> str:
    """The URL without a password, for messages."""
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
