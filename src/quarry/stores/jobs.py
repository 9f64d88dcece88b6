"""Ingest jobs: the :class:`Job` record and the :class:`JobStore` seam (the SQLite adapter is
:class:`~quarry.stores.sqlite.jobs.SQLiteJobStore`).

Jobs are rows every API worker process can see, so a client polling through any worker finds its job and a
restart forgets nothing. A job runs in the process that accepted it (an upload's bytes live there), or, with a
shared queue, in the process that claimed it; each row records that process, and rows left ``queued`` or
``running`` by a process that no longer exists are marked failed ("interrupted"), so a client never waits on a
dead job.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["INTERRUPTED", "KEEP_FINISHED", "Job", "JobStore"]

KEEP_FINISHED = 500
INTERRUPTED = "interrupted: the server process that ran this job stopped; submit it again (finished units are skipped)"


@dataclass
class Job:
    id: str
    kind: str
    collection: str
    owner: str
    request_id: str
    status: str = "queued"  # queued | running | succeeded | failed
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    total: int | None = None
    units: dict[str, int] = field(default_factory=dict)  # new / changed / unchanged / failed → count
    chunks: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    message: str = ""
    report: dict[str, Any] | None = None

    @property
    def done(self) -> int:
        return sum(self.units.values())


class JobStore(Protocol):
    """Thread-safe; shared by every process that opens the same store."""

    def add(self, job: Job, *, owned: bool = True) -> None:
        """Record a new job as this process's, or (``owned=False``, a job put on a shared queue) as nobody's until a
        process claims it; finished jobs beyond ``KEEP_FINISHED`` are dropped."""
        ...

    def claim(self, job_id: str) -> bool:
        """Make a queued job this process's and running; False when it is not queued (another process took it)."""
        ...

    def save(self, job: Job) -> None:
        """Write the job's status and progress (the owning process is the only writer of a row)."""
        ...

    def get(self, job_id: str) -> Job | None: ...

    def list(self, owner: str | None, limit: int) -> list[Job]:
        """Newest first; ``owner=None`` lists every key's jobs."""
        ...

    def fail_orphans(self) -> int:
        """Mark jobs of processes that are gone as failed (``INTERRUPTED``); the number marked."""
        ...

    def fail_unfinished(self) -> int:
        """Mark this process's jobs that never finished as failed (at shutdown, after the worker stops)."""
        ...

    def close(self) -> None: ...
