"""Background ingest jobs: one worker thread (SQLite has one writer), progress from pipeline events.

Jobs live in memory: a restart forgets them (the ingested documents stay, of course). Each job
belongs to the key that started it; only that key (or an admin key) can read it.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from quarry.api.metrics import Metrics
from quarry.errors import QuarryError
from quarry.ingest.sources import Source
from quarry.pipeline import Ingestor, IngestReport, Progress

__all__ = ["Job", "JobManager"]

log = logging.getLogger("quarry.api")

KEEP_FINISHED = 500


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

    def on_progress(self, event: Progress) -> None:
        if event.kind == "start":
            self.total = event.total
        elif event.kind == "unit":
            self.units[event.status] = self.units.get(event.status, 0) + 1
        elif event.kind == "chunks":
            self.chunks += event.count


class JobManager:
    def __init__(self, ingestor: Callable[[], Ingestor], metrics: Metrics) -> None:
        self._ingestor, self._metrics = ingestor, metrics
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="quarry-ingest")

    def submit(self, kind: str, collection: str, owner: str, request_id: str, source: Callable[[], Source]) -> Job:
        """Queue an ingest of ``source()`` (built in the worker, so slow sources never block a request)."""
        job = Job(uuid.uuid4().hex, kind, collection, owner, request_id)
        with self._lock:
            self._jobs[job.id] = job
            self._trim()
        context = contextvars.copy_context()  # carries the request id into the job's traces
        self._pool.submit(context.run, self._run, job, source)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def list(self, owner: str | None, limit: int = 50) -> list[Job]:
        """Newest first; ``owner=None`` lists every key's jobs."""
        with self._lock:
            jobs = [j for j in reversed(self._jobs.values()) if owner is None or j.owner == owner]
        return jobs[:limit]

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, job: Job, source: Callable[[], Source]) -> None:
        job.status, job.started_at = "running", time.time()
        report: IngestReport | None = None
        try:
            report = self._ingestor().run(source(), job.collection, progress=job.on_progress)
            job.errors = [{"uri": f.uri, "reason": f.reason, "kind": f.kind} for f in report.failures]
            job.report = {k: v for k, v in report.as_dict().items() if k != "failures"}
            job.status = "succeeded"
        except QuarryError as exc:
            job.status, job.message = "failed", str(exc)
        except Exception:
            log.exception("ingest job %s failed", job.id)
            job.status, job.message = "failed", "internal error; see the server log"
        finally:
            job.finished_at = time.time()
            self._metrics.observe_ingest(report, job.status)

    def _trim(self) -> None:
        finished = [j.id for j in self._jobs.values() if j.finished_at is not None]
        for job_id in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job_id]
