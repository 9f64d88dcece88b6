"""Traces, API keys and ingest jobs in PostgreSQL: the :class:`TraceStore`, :class:`KeyStore` and
:class:`JobStore` adapters. Every replica of the API reads and writes the same rows, so a key revoked on
one is refused by all on the next request, and a job started on one is visible from every other.
"""

from __future__ import annotations

import hmac
import os
import socket
import time
from collections.abc import Mapping, Sequence
from typing import Any

import psutil
from psycopg.types.json import Jsonb

from quarry.errors import StoreError
from quarry.stores.base import TraceRecord
from quarry.stores.jobs import INTERRUPTED, KEEP_FINISHED, Job
from quarry.stores.keys import ApiKey, check_scope, new_token, parse_token, token_hash
from quarry.stores.postgres.database import Database, open_database, release
from quarry.stores.postgres.rows import json_ready
from quarry.tracing.spans import Span, Trace, span_dict
from quarry.types import freeze

__all__ = ["PostgresJobStore", "PostgresKeyStore", "PostgresTraceStore"]


class Adapter:
    """An adapter holding the process's shared :class:`Database` for its URL (released on close)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._db: Database | None = open_database(url)

    @property
    def db(self) -> Database:
        if self._db is None:
            raise StoreError("the store is closed", operation="connect", hint="build a new one")
        return self._db

    def close(self) -> None:
        if self._db is not None:
            release(self._db)
            self._db = None


class PostgresTraceStore(Adapter):
    def save_trace(self, trace: Trace) -> None:
        root = trace.root
        spans: list[Span] = trace.spans if any(s is root for s in trace.spans) else [root, *trace.spans]
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO traces (trace_id, kind, name, started_at, duration, status, spans, attributes) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (trace_id) DO UPDATE SET kind = excluded.kind, "
                "name = excluded.name, started_at = excluded.started_at, duration = excluded.duration, "
                "status = excluded.status, spans = excluded.spans, attributes = excluded.attributes",
                (trace.trace_id, trace.kind, root.name, root.start, root.duration, root.status,
                 Jsonb(json_ready([span_dict(s) for s in spans])), Jsonb(json_ready(root.attributes))),
            )  # fmt: skip

    def traces(
        self, limit: int = 20, kind: str | Sequence[str] | None = None, *, where: Mapping[str, str] | None = None
    ) -> list[TraceRecord]:
        conditions: list[str] = []
        params: list[object] = []
        if kind is not None:
            conditions.append("kind = ANY(%s)")
            params.append([kind] if isinstance(kind, str) else list(kind))
        for key, value in (where or {}).items():
            conditions.append("attributes ->> %s = %s")
            params += [key, value]
        clause = f"WHERE {' AND '.join(conditions)} " if conditions else ""
        with self.db.transaction() as conn:
            rows = conn.execute(
                f"SELECT * FROM traces {clause}ORDER BY started_at DESC LIMIT %s", (*params, limit)
            ).fetchall()
        return [_record(row) for row in rows]

    def trace(self, trace_id: str) -> TraceRecord | None:
        with self.db.transaction() as conn:
            rows = conn.execute(
                'SELECT * FROM traces WHERE trace_id COLLATE "C" >= %s ORDER BY trace_id COLLATE "C" LIMIT 2',
                (trace_id,),
            ).fetchall()
        found = [row for row in rows if row["trace_id"].startswith(trace_id)]
        if len(found) > 1:
            raise StoreError(
                f"trace id prefix {trace_id!r} is ambiguous", operation="trace", hint="give more characters of the id"
            )
        return _record(found[0]) if found else None


def _record(row: Mapping[str, Any]) -> TraceRecord:
    return TraceRecord(
        trace_id=row["trace_id"], kind=row["kind"], name=row["name"], started_at=row["started_at"],
        duration=row["duration"], status=row["status"], spans=tuple(row["spans"]),
        attributes=freeze(row["attributes"]),
    )  # fmt: skip


class PostgresKeyStore(Adapter):
    """Every verification reads the key's row (one primary-key lookup), so revocation on any replica holds
    everywhere at once."""

    def create(
        self, scope: str, *, collections: Sequence[str] = (), principals: Sequence[str] = (), note: str = ""
    ) -> tuple[ApiKey, str]:
        key_id, token = new_token()
        key = ApiKey(key_id, check_scope(scope), tuple(collections), tuple(sorted(set(principals))), note, time.time())
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO api_keys (id, hash, scope, collections, principals, note, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (key.id, token_hash(token), key.scope, Jsonb(list(key.collections)), Jsonb(list(key.principals)),
                 note, key.created_at),
            )  # fmt: skip
        return key, token

    def verify(self, token: str) -> ApiKey | None:
        key_id = parse_token(token)
        if key_id is None:
            return None
        with self.db.transaction() as conn:
            row = conn.execute("SELECT * FROM api_keys WHERE id = %s", (key_id,)).fetchone()
        if row is None or not hmac.compare_digest(row["hash"], token_hash(token)) or row["revoked_at"] is not None:
            return None
        return _key(row)

    def list(self) -> list[ApiKey]:
        with self.db.transaction() as conn:
            return [_key(row) for row in conn.execute("SELECT * FROM api_keys ORDER BY created_at").fetchall()]

    def revoke(self, key_id: str) -> bool:
        with self.db.transaction() as conn:
            return bool(conn.execute(
                "UPDATE api_keys SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL", (time.time(), key_id)
            ).rowcount)  # fmt: skip


def _key(row: Mapping[str, Any]) -> ApiKey:
    return ApiKey(
        id=row["id"], scope=row["scope"], collections=tuple(row["collections"]), principals=tuple(row["principals"]),
        note=row["note"], created_at=row["created_at"], revoked_at=row["revoked_at"],
    )  # fmt: skip


_JOB_COLUMNS = (
    "id, kind, collection, owner, request_id, status, created_at, started_at, finished_at, "
    "total, units, chunks, errors, message, report"
)


class PostgresJobStore(Adapter):
    """Each row records its host, pid and process start time: orphans of dead processes on this host are failed
    (a job of another host is that host's to judge)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        pid = os.getpid()
        self._process = (socket.gethostname(), pid, psutil.Process(pid).create_time())
        self.fail_orphans()

    def add(self, job: Job, *, owned: bool = True) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                f"INSERT INTO jobs ({_JOB_COLUMNS}, host, pid, pid_started) VALUES ({', '.join(['%s'] * 18)})",
                (*_values(job), *(self._process if owned else ("", 0, 0.0))),
            )
            conn.execute(
                "DELETE FROM jobs WHERE finished_at IS NOT NULL AND id NOT IN "
                "(SELECT id FROM jobs WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT %s)",
                (KEEP_FINISHED,),
            )

    def claim(self, job_id: str) -> bool:
        with self.db.transaction() as conn:
            return bool(conn.execute(
                "UPDATE jobs SET status = 'running', started_at = %s, host = %s, pid = %s, pid_started = %s "
                "WHERE id = %s AND status = 'queued'",
                (time.time(), *self._process, job_id),
            ).rowcount)  # fmt: skip

    def save(self, job: Job) -> None:
        values = _values(job)
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE jobs SET status = %s, started_at = %s, finished_at = %s, total = %s, units = %s, "
                "chunks = %s, errors = %s, message = %s, report = %s WHERE id = %s",
                (values[5], *values[7:], job.id),
            )

    def get(self, job_id: str) -> Job | None:
        with self.db.transaction() as conn:
            row = conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = %s", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def list(self, owner: str | None, limit: int) -> list[Job]:
        where, args = ("WHERE owner = %s", (owner,)) if owner is not None else ("", ())
        with self.db.transaction() as conn:
            rows = conn.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs {where} ORDER BY created_at DESC, seq DESC LIMIT %s", (*args, limit)
            ).fetchall()
        return [_job(row) for row in rows]

    def fail_orphans(self) -> int:
        host = self._process[0]
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT DISTINCT pid, pid_started FROM jobs WHERE host = %s AND status IN ('queued', 'running')",
                (host,),
            ).fetchall()
            marked = 0
            for row in rows:
                if not _alive(row["pid"], row["pid_started"]):
                    marked += conn.execute(
                        "UPDATE jobs SET status = 'failed', message = %s, finished_at = %s WHERE host = %s "
                        "AND pid = %s AND pid_started = %s AND status IN ('queued', 'running')",
                        (INTERRUPTED, time.time(), host, row["pid"], row["pid_started"]),
                    ).rowcount
        return marked

    def fail_unfinished(self) -> int:
        with self.db.transaction() as conn:
            return int(conn.execute(
                "UPDATE jobs SET status = 'failed', message = %s, finished_at = %s "
                "WHERE host = %s AND pid = %s AND pid_started = %s AND status IN ('queued', 'running')",
                (INTERRUPTED, time.time(), *self._process),
            ).rowcount)  # fmt: skip


def _alive(pid: int, started: float) -> bool:
    try:
        return abs(psutil.Process(pid).create_time() - started) < 1.0
    except psutil.Error:
        return False


def _values(job: Job) -> tuple[Any, ...]:
    return (
        job.id, job.kind, job.collection, job.owner, job.request_id, job.status, job.created_at, job.started_at,
        job.finished_at, job.total, Jsonb(json_ready(job.units)), job.chunks, Jsonb(json_ready(job.errors)),
        job.message, None if job.report is None else Jsonb(json_ready(job.report)),
    )  # fmt: skip


def _job(row: Mapping[str, Any]) -> Job:
    return Job(
        id=row["id"], kind=row["kind"], collection=row["collection"], owner=row["owner"],
        request_id=row["request_id"], status=row["status"], created_at=row["created_at"],
        started_at=row["started_at"], finished_at=row["finished_at"], total=row["total"], units=row["units"],
        chunks=row["chunks"], errors=row["errors"], message=row["message"], report=row["report"],
    )  # fmt: skip
