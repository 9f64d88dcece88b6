"""Traces in their own SQLite file beside the store (``<store>.traces.db``): the :class:`TraceStore` adapter.

Logging never waits on an ingest's write lock in the knowledge-base file, and a run that changes nothing leaves
that file byte-for-byte untouched. One row per trace, its spans as a JSON array (:mod:`.traces`). A file made by
an older Quarry (a whole knowledge-base schema holding a ``traces`` table) opens as it is.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from quarry.errors import StoreError
from quarry.stores.base import TraceRecord
from quarry.stores.sqlite import traces as trace_rows
from quarry.stores.sqlite.schema import connect
from quarry.tracing.spans import Trace

__all__ = ["SQLiteTraceStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS traces (
    trace_id   TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    started_at REAL NOT NULL,
    duration   REAL NOT NULL,
    status     TEXT NOT NULL,
    spans      TEXT NOT NULL DEFAULT '[]',
    attributes TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS traces_started ON traces(started_at);
CREATE INDEX IF NOT EXISTS traces_kind_started ON traces(kind, started_at);
"""


class SQLiteTraceStore:
    """Thread-safe: one connection behind a lock (a trace is one row)."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 10_000) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = connect(self.path, busy_timeout_ms=busy_timeout_ms)
        self._lock = threading.Lock()
        self._closed = False
        with self._lock:
            self._db.executescript(_SCHEMA)

    def save_trace(self, trace: Trace) -> None:
        with self._lock:
            self._check()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                trace_rows.insert_trace(self._db, trace)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def traces(
        self, limit: int = 20, kind: str | Sequence[str] | None = None, *, where: Mapping[str, str] | None = None
    ) -> list[TraceRecord]:
        with self._lock:
            self._check()
            return trace_rows.list_traces(self._db, limit, kind, where)

    def trace(self, trace_id: str) -> TraceRecord | None:
        with self._lock:
            self._check()
            return trace_rows.find_trace(self._db, trace_id)

    @property
    def total_changes(self) -> int:
        with self._lock:
            return self._db.total_changes

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    def _check(self) -> None:
        if self._closed:
            raise StoreError("the trace store is closed", operation="traces", hint="open a new SQLiteTraceStore")
