"""Read-only SQL over a configured database (``[agents.sql] url``), three locks deep:

1. the statement allow-list: one ``SELECT`` (or ``WITH … SELECT``) statement — no second statement, no
   ``PRAGMA``/``ATTACH``/DML/DDL keyword anywhere outside string literals;
2. the connection: SQLite is opened ``mode=ro`` (the engine refuses writes), PostgreSQL runs the statement in a
   ``READ ONLY`` transaction with ``statement_timeout``; any other engine's transaction is rolled back;
3. limits: values are bound parameters (``:name`` in the SQL, ``params`` as an object), at most ``max_rows``
   rows come back (the rest reported as cut), and a statement over ``timeout_s`` is interrupted.
"""

from __future__ import annotations

import re
import sqlite3
import time
from typing import Any

import sqlalchemy as sa

from quarry.agents.tools import Tool, tool
from quarry.errors import ConfigError
from quarry.settings import SqlToolSettings

__all__ = ["ReadOnlySql", "check_statement"]

_STRINGS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_FORBIDDEN = re.compile(
    r"\b(insert|update|delete|merge|upsert|create|alter|drop|truncate|grant|revoke|attach|detach|pragma|"
    r"vacuum|reindex|analyze|copy|call|do|execute|prepare|lock|listen|notify|set|reset|load|into)\b",
    re.IGNORECASE,
)


def check_statement(sql: str) -> str:
    """The statement if it is one read-only query, else :class:`ConfigError` saying why."""
    bare = _COMMENTS.sub(" ", _STRINGS.sub("''", sql)).strip().rstrip(";").strip()
    if not bare:
        raise ConfigError("the SQL statement is empty", key="sql")
    if ";" in bare:
        raise ConfigError("only one statement is allowed", key="sql", hint="remove the ';' between statements")
    if not re.match(r"^(select|with)\b", bare, re.IGNORECASE):
        raise ConfigError("only SELECT queries are allowed", key="sql", hint="start the statement with SELECT")
    found = _FORBIDDEN.search(bare)
    if found:
        raise ConfigError(f"{found.group(1).upper()} is not allowed in a read-only query", key="sql")
    return sql.strip().rstrip(";")


class ReadOnlySql:
    def __init__(self, settings: SqlToolSettings) -> None:
        if not settings.url:
            hint = "set [agents.sql] url = 'sqlite:///path/to/data.db' or a postgresql:// URL"
            raise ConfigError("the sql_query tool needs a database", key="agents.sql.url", hint=hint)
        self.settings = settings
        url = sa.make_url(settings.url)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            creator = _sqlite_read_only(url.database)
            self.engine = sa.create_engine("sqlite://", creator=creator, poolclass=sa.pool.NullPool)
        else:
            self.engine = sa.create_engine(url, pool_pre_ping=True)
        self.backend = url.get_backend_name()

    def query(self, sql: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        statement = check_statement(sql)
        limit, timeout = self.settings.max_rows, self.settings.timeout_s
        with self.engine.connect() as conn:
            if self.backend == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout * 1000)}")
            elif self.backend == "sqlite":
                _interrupt_after(conn, timeout)
            try:
                result = conn.execute(sa.text(statement), params or {})
                columns = list(result.keys())
                rows = result.fetchmany(limit + 1)
            except sa.exc.DBAPIError as exc:
                raise ConfigError(f"the query failed: {_first_line(exc)}", key="sql") from None
            finally:
                conn.rollback()
        cut = len(rows) > limit
        return {"columns": columns, "rows": [list(r) for r in rows[:limit]], "row_count": min(len(rows), limit),
                "truncated": cut}  # fmt: skip

    def tool(self) -> Tool:
        reader = self

        def sql_query(sql: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
            """Run one read-only SQL SELECT on the configured database; returns columns and rows.

            Args:
                sql: one SELECT statement; put values in as :name placeholders.
                params: the placeholders' values, e.g. {"status": "overdue"}.
            """
            return reader.query(sql, params)

        return tool(risk="read", timeout_s=self.settings.timeout_s + 5)(sql_query)

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_read_only(path: str) -> Any:
    def connect() -> sqlite3.Connection:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    return connect


def _interrupt_after(conn: sa.Connection, seconds: float) -> None:
    raw = conn.connection.dbapi_connection
    deadline = time.monotonic() + seconds
    if isinstance(raw, sqlite3.Connection):
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", exc)).splitlines()[0][:300]
