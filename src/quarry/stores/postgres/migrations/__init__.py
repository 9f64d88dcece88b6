"""Numbered SQL migrations (``NNNN_name.sql``), applied in order and recorded in ``quarry_schema``.

``quarry db upgrade`` runs :func:`upgrade`; an adapter opening the database runs :func:`check_schema`, which
creates the whole schema in an empty database and refuses one that is older (run ``quarry db upgrade``) or
newer (upgrade Quarry) than this code. Each migration runs in its own transaction under an advisory lock, so
two processes upgrading at once apply each file exactly once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg

from quarry.errors import StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Migration", "check_schema", "create_schema", "schema_version", "upgrade"]

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK = 0x51_7A_52_59  # pg_advisory_xact_lock key for schema changes


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def _migrations() -> tuple[Migration, ...]:
    found = []
    for entry in resources.files(__name__).iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError("PostgreSQL migrations must be numbered 0001, 0002, … without gaps")
    return tuple(found)


MIGRATIONS = _migrations()
SCHEMA_VERSION = len(MIGRATIONS)

_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS quarry_schema (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


def schema_version(conn: psycopg.Connection[Any]) -> int | None:
    """The database's schema version; None when it has no Quarry schema."""
    exists = conn.execute("SELECT to_regclass('quarry_schema') IS NOT NULL").fetchone()
    if not exists or not _first(exists):
        return None
    row = conn.execute("SELECT coalesce(max(version), 0) FROM quarry_schema").fetchone()
    return int(_first(row)) if row else 0


def _first(row: Any) -> Any:
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def check_schema(conn: psycopg.Connection[Any]) -> bool:
    """True when the schema is current; False for an empty database; StoreError when older or newer."""
    version = schema_version(conn)
    if version is None or version == 0:
        return False
    if version < SCHEMA_VERSION:
        raise StoreError(
            f"the database schema is version {version}, this Quarry needs {SCHEMA_VERSION}",
            operation="open",
            hint="run `quarry db upgrade` (back the database up first)",
        )
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the database schema is version {version}, newer than this Quarry understands ({SCHEMA_VERSION})",
            operation="open",
            hint="upgrade Quarry to the version that migrated this database",
        )
    return True


def create_schema(conn: psycopg.Connection[Any]) -> list[Migration]:
    """Apply every migration to an empty database (the first start)."""
    return upgrade(conn)


def upgrade(conn: psycopg.Connection[Any], *, target: int = SCHEMA_VERSION) -> list[Migration]:
    """Apply the pending migrations up to ``target``, each in its own transaction; the ones applied."""
    applied: list[Migration] = []
    conn.autocommit = True
    conn.execute(_VERSION_TABLE)
    for migration in MIGRATIONS[:target]:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            done = conn.execute("SELECT 1 FROM quarry_schema WHERE version = %s", (migration.version,)).fetchone()
            if done:
                continue  # applied earlier, or by another process while this one waited for the lock
            conn.execute(migration.sql.encode())  # a script: no parameters, several statements
            conn.execute(
                "INSERT INTO quarry_schema (version, name) VALUES (%s, %s)", (migration.version, migration.name)
            )
        applied.append(migration)
    return applied
