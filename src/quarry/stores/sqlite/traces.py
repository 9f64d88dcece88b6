"""Trace persistence: one row per trace, its spans as a JSON array."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence

from quarry.errors import StoreError
from quarry.stores.base import TraceRecord
from quarry.stores.sqlite.rows import dump_json
from quarry.tracing.spans import Trace, span_dict
from quarry.types import freeze

__all__ = ["find_trace", "insert_trace", "list_traces"]


def insert_trace(conn: sqlite3.Connection, trace: Trace) -> None:
    """Store (or replace) ``trace``; runs inside the caller's transaction."""
    root = trace.root
    spans = trace.spans if any(s is root for s in trace.spans) else [root, *trace.spans]
    conn.execute(
        "INSERT OR REPLACE INTO traces (trace_id, kind, name, started_at, duration, status, spans, attributes) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            trace.trace_id,
            trace.kind,
            root.name,
            root.start,
            root.duration,
            root.status,
            dump_json([span_dict(s) for s in spans]),
            dump_json(root.attributes),
        ),
    )


def list_traces(
    conn: sqlite3.Connection, limit: int, kind: str | Sequence[str] | None, where: Mapping[str, str] | None = None
) -> list[TraceRecord]:
    """Newest first; ``kind`` one kind or several, ``where`` root attributes that must equal the given strings
    (matched inside SQLite, so only the wanted rows are decoded)."""
    conditions: list[str] = []
    params: list[object] = []
    if kind is not None:
        kinds = [kind] if isinstance(kind, str) else list(kind)
        conditions.append(f"kind IN ({', '.join('?' * len(kinds))})")
        params += kinds
    for key, value in (where or {}).items():
        conditions.append("json_extract(attributes, ?) = ?")
        params += [f'$."{key}"', value]
    clause = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    rows = conn.execute(f"SELECT * FROM traces {clause}ORDER BY started_at DESC LIMIT ?", (*params, limit)).fetchall()
    return [_record(row) for row in rows]


def find_trace(conn: sqlite3.Connection, prefix: str) -> TraceRecord | None:
    """The trace whose id starts with ``prefix``; StoreError if several do."""
    # Ids sharing the prefix sort contiguously right after it: two rows tell unique from ambiguous.
    candidates = conn.execute(
        "SELECT * FROM traces WHERE trace_id >= ? ORDER BY trace_id LIMIT 2", (prefix,)
    ).fetchall()
    rows = [row for row in candidates if row["trace_id"].startswith(prefix)]
    if len(rows) > 1:
        raise StoreError(
            f"trace id prefix {prefix!r} is ambiguous", operation="trace", hint="give more characters of the id"
        )
    return _record(rows[0]) if rows else None


def _record(row: sqlite3.Row) -> TraceRecord:
    spans = json.loads(row["spans"])
    return TraceRecord(
        trace_id=row["trace_id"],
        kind=row["kind"],
        name=row["name"],
        started_at=row["started_at"],
        duration=row["duration"],
        status=row["status"],
        spans=tuple(spans),
        attributes=freeze(json.loads(row["attributes"])),
    )
