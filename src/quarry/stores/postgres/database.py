"""One PostgreSQL database shared by every adapter of a process: a psycopg 3 connection pool and the schema check.

Values are always bound parameters (server-side, never interpolated). The schema is versioned by the numbered
SQL files in ``migrations/`` (see :mod:`.migrations`): opening a database with no Quarry schema creates it; an
older schema is an error that names ``quarry db upgrade``, a newer one an error that says to upgrade Quarry.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from pgvector.psycopg import register_vector
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from quarry.errors import StoreError
from quarry.stores.postgres.migrations import check_schema, create_schema

__all__ = ["Database", "Row", "open_database"]

Row = dict[str, Any]
Connection = psycopg.Connection[Row]

_OPEN: dict[str, tuple[Database, int]] = {}  # url → (database, adapters holding it)
_OPEN_LOCK = threading.Lock()


class Database:
    """A connection pool on one database. ``transaction()`` yields a connection inside one transaction
    (committed on exit, rolled back on error); every adapter's statements run that way."""

    def __init__(self, url: str, *, max_size: int = 8) -> None:
        self.url = url
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                if not check_schema(conn):
                    create_schema(conn)
        except psycopg.OperationalError as exc:
            raise StoreError(
                f"cannot connect to PostgreSQL: {str(exc).strip().splitlines()[0]}",
                operation="connect",
                hint="check [store] url (postgresql://user:password@host:port/database) and that the server runs",
            ) from exc
        self.pgvector = _pgvector_version(url)
        self.pool: ConnectionPool[Connection] = ConnectionPool(
            url, min_size=1, max_size=max_size, open=True, configure=_configure,
            kwargs={"row_factory": dict_row, "autocommit": False}, name="quarry",
        )  # fmt: skip

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.pool.connection() as conn:  # commits on a clean exit, rolls back on an exception
            yield conn

    def close(self) -> None:
        self.pool.close()


def _pgvector_version(url: str) -> tuple[int, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    return tuple(int(part) for part in str(row[0]).split(".") if part.isdigit()) if row else (0,)


def _configure(conn: psycopg.Connection[Row]) -> None:
    register_vector(conn)
    conn.commit()


def open_database(url: str) -> Database:
    """The process's :class:`Database` for ``url``, shared by reference count: release it with :func:`release`."""
    with _OPEN_LOCK:
        database, holders = _OPEN.get(url, (None, 0))
        if database is None:
            database = Database(url)
        _OPEN[url] = (database, holders + 1)
        return database


def release(database: Database) -> None:
    """Give back a database from :func:`open_database`; the pool closes with its last holder."""
    with _OPEN_LOCK:
        found, holders = _OPEN.get(database.url, (None, 0))
        if found is not database:
            return
        if holders <= 1:
            del _OPEN[database.url]
            database.close()
        else:
            _OPEN[database.url] = (database, holders - 1)
