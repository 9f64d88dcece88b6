"""The knowledge base's schema version and its upgrade, for the configured engine (``quarry db status|upgrade``).

SQLite files migrate themselves when opened (a file is one user's; there is nobody to coordinate with).
PostgreSQL is shared by replicas, so an existing database is only changed by ``quarry db upgrade``: opening an
older one is an error naming that command, and an empty database gets the whole schema on first use.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from quarry.settings import Settings

__all__ = ["SchemaStatus", "schema_status", "upgrade_schema"]


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    engine: str
    where: str
    version: int | None  # None: no Quarry schema yet
    target: int
    pending: tuple[str, ...]  # migrations not applied yet, "0002_operations"


def _postgres_url(settings: Settings) -> str:
    dsn = settings.store.dsn
    assert dsn is not None  # callers check the engine first
    return dsn


def schema_status(settings: Settings) -> SchemaStatus:
    s = settings.store
    if s.engine == "postgresql":
        import psycopg

        from quarry.stores.postgres.migrations import MIGRATIONS, SCHEMA_VERSION, schema_version

        with psycopg.connect(_postgres_url(settings)) as conn:
            version = schema_version(conn)
        pending = tuple(f"{m.version:04d}_{m.name}" for m in MIGRATIONS if m.version > (version or 0))
        return SchemaStatus("postgresql", s.where, version, SCHEMA_VERSION, pending)
    from quarry.stores.sqlite.schema import SCHEMA_VERSION as SQLITE_VERSION

    if not s.path.is_file():
        return SchemaStatus("sqlite", s.where, None, SQLITE_VERSION, ())
    with sqlite3.connect(s.path) as conn:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    pending = tuple(f"{n:04d}" for n in range(version + 1, SQLITE_VERSION + 1))
    return SchemaStatus("sqlite", s.where, version, SQLITE_VERSION, pending)


def upgrade_schema(settings: Settings) -> list[str]:
    """Apply every pending migration; the names of those applied (empty: already current)."""
    if settings.store.engine == "postgresql":
        import psycopg

        from quarry.stores.postgres.migrations import upgrade

        with psycopg.connect(_postgres_url(settings), autocommit=True) as conn:
            return [f"{m.version:04d}_{m.name}" for m in upgrade(conn)]
    from quarry.stores.sqlite import schema as sqlite_schema

    before = schema_status(settings)
    settings.store.path.parent.mkdir(parents=True, exist_ok=True)
    sqlite_conn = sqlite_schema.connect(settings.store.path)
    try:
        sqlite_schema.migrate(sqlite_conn)
    finally:
        sqlite_conn.close()
    return list(before.pending) if before.version is not None else [f"{n:04d}" for n in range(1, before.target + 1)]
