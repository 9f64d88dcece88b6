"""Ingest jobs as rows of a small SQLite file beside the store (``<store>.jobs.db``): the :class:`JobStore`
adapter. Every worker process opens the same file; WAL lets them read while a job's own worker writes its
progress. Each row records its process (pid and start time) so orphans of dead processes can be failed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from quarry.sqlite_wal import use_wal
from quarry.stores.jobs import INTERRUPTED, KEEP_FINISHED, Job

__all__ = ["SQLiteJobStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    collection  TEXT NOT NULL,
    owner       TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  REAL NOT NULL,
    started_at  REAL,
    finished_at REAL,
    total       INTEGER,
    units       TEXT NOT NULL DEFAULT '{}',
    chunks      INTEGER NOT NULL DEFAULT 0,
    errors      TEXT NOT NULL DEFAULT '[]',
    message     TEXT NOT NULL DEFAULT '',
    report      TEXT,
    pid         INTEGER NOT NULL,
    pid_started REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, created_at);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at);
"""
_COLUMNS = (
    "id, kind, collection, owner, request_id, status, created_at, started_at, finished_at, "
    "total, units, chunks, errors, message, report"
)


def _this_process() -> tuple[int, float]:
    pid = os.getpid()
    return pid, psutil.Process(pid).create_time()


def _alive(pid: int, started: float) -> bool:
    try:
        return abs(psutil.Process(pid).create_time() - started) < 1.0
    except psutil.Error:  # no such process (or not ours to see): its jobs cannot be running
        return False


class SQLiteJobStore:
    """Thread-safe: one connection behind a lock; every statement touches one row or one index range."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10.0)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._process = _this_process()
        with self._lock:
            use_wal(self._db)
            self._db.executescript(_SCHEMA)
        self.fail_orphans()

    def add(self, job: Job, *, owned: bool = True) -> None:
        with self._lock:
            self._db.execute(
                f"INSERT INTO jobs ({_COLUMNS}, pid, pid_started) VALUES ({', '.join('?' * 17)})",
                (*_values(job), *(self._process if owned else (0, 0.0))),
            )
            self._trim()

    def claim(self, job_id: str) -> bool:
        with self._lock:
            return bool(self._db.execute(
                "UPDATE jobs SET status = 'running', started_at = ?, pid = ?, pid_started = ? "
                "WHERE id = ? AND status = 'queued'",
                (time.time(), *self._process, job_id),
            ).rowcount)  # fmt: skip

    def save(self, job: Job) -> None:
        """Write the job's status and progress (the owning process is the only writer of a row)."""
        values = _values(job)
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET status = ?, started_at = ?, finished_at = ?, total = ?, units = ?, chunks = ?, "
                "errors = ?, message = ?, report = ? WHERE id = ?",
                (values[5], *values[7:], job.id),
            )

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def list(self, owner: str | None, limit: int) -> list[Job]:
        """Newest first; ``owner=None`` lists every key's jobs."""
        where, args = ("WHERE owner = ?", (owner,)) if owner is not None else ("", ())
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM jobs {where} ORDER BY created_at DESC, rowid DESC LIMIT ?", (*args, limit)
            ).fetchall()
        return [_job(row) for row in rows]

    def fail_orphans(self) -> int:
        """Mark jobs of processes that are gone as failed; the number marked."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT pid, pid_started FROM jobs WHERE status IN ('queued', 'running') AND pid != 0"
            ).fetchall()
            dead = [(r["pid"], r["pid_started"]) for r in rows if not _alive(r["pid"], r["pid_started"])]
            marked = 0
            for pid, started in dead:
                marked += self._db.execute(
                    "UPDATE jobs SET status = 'failed', message = ?, finished_at = ? "
                    "WHERE pid = ? AND pid_started = ? AND status IN ('queued', 'running')",
                    (INTERRUPTED, time.time(), pid, started),
                ).rowcount
        return marked

    def fail_unfinished(self) -> int:
        """Mark this process's jobs that never finished as failed (at shutdown, after the worker stops)."""
        with self._lock:
            return self._db.execute(
                "UPDATE jobs SET status = 'failed', message = ?, finished_at = ? "
                "WHERE pid = ? AND pid_started = ? AND status IN ('queued', 'running')",
                (INTERRUPTED, time.time(), *self._process),
            ).rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _trim(self) -> None:
        self._db.execute(
            "DELETE FROM jobs WHERE finished_at IS NOT NULL AND id NOT IN "
            "(SELECT id FROM jobs WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?)",
            (KEEP_FINISHED,),
        )


def _values(job: Job) -> tuple[Any, ...]:
    return (
        job.id,
        job.kind,
        job.collection,
        job.owner,
        job.request_id,
        job.status,
        job.created_at,
        job.started_at,
        job.finished_at,
        job.total,
        json.dumps(job.units),
        job.chunks,
        json.dumps(job.errors),
        job.message,
        None if job.report is None else json.dumps(job.report),
    )


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        kind=row["kind"],
        collection=row["collection"],
        owner=row["owner"],
        request_id=row["request_id"],
        status=row["status"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        total=row["total"],
        units=json.loads(row["units"]),
        chunks=row["chunks"],
        errors=json.loads(row["errors"]),
        message=row["message"],
        report=None if row["report"] is None else json.loads(row["report"]),
    )
