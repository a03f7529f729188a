"""Versioned schema migrations for the PostgreSQL store: plain SQL files
(``migrations/NNN_name.sql``), applied in order, each in its own transaction, recorded in
``schema_version``; an advisory lock keeps two upgrades from running at once.
(Why not Alembic: docs/decisions.md.)"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from aggregator.errors import StoreError

_LOCK = 0x61676772  # "aggr": one upgrade at a time
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL), in order."""
    folder = resources.files("aggregator").joinpath("store/migrations")
    found = []
    for item in folder.iterdir():
        match = _NAME.match(item.name)
        if match:
            found.append((int(match.group(1)), item.name, item.read_text(encoding="utf-8")))
    return sorted(found)


def latest_version() -> int:
    return max((v for v, _, _ in migrations()), default=0)


def current_version(conn: Any) -> int:
    exists = conn.execute("SELECT to_regclass('schema_version')").fetchone()[0]
    if exists is None:
        return 0
    return int(conn.execute("SELECT coalesce(max(version), 0) FROM schema_version"
                            ).fetchone()[0])


def upgrade(url: str) -> list[str]:
    """Apply the migrations the database at ``url`` lacks; the names of those applied."""
    import psycopg
    try:
        conn = psycopg.connect(url, autocommit=True)
    except psycopg.Error as e:
        raise StoreError(f"cannot reach PostgreSQL: {e}") from e
    applied = []
    with conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [_LOCK])
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY,"
                     " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        done = current_version(conn)
        for version, name, sql in migrations():
            if version <= done:
                continue
            try:
                with conn.transaction():
                    conn.execute(sql)
                    conn.execute("INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                                 [version, name])
            except psycopg.Error as e:
                raise StoreError(f"migration {name} failed (nothing of it applied): {e}") from e
            applied.append(name)
        conn.execute("SELECT pg_advisory_unlock(%s)", [_LOCK])
    return applied
