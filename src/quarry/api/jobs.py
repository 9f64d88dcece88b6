"""Background ingest jobs: one worker thread per process (SQLite has one writer), progress from pipeline events.

Jobs are rows of the configured :class:`~quarry.stores.jobs.JobStore` (``<store>.jobs.db`` by default): they
survive a restart and every worker process sees them. A job runs in the process that accepted it; progress is
written at most every ``FLUSH_S`` seconds and at each status change. Each job belongs to the key that started it;
only that key (or an admin key) can read it.
"""

from __future__ import annotations

import contextvars
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from quarry.api.metrics import Metrics
from quarry.errors import QuarryError
from quarry.ingest.sources import Source
from quarry.pipeline import Ingestor, IngestReport, Progress
from quarry.stores.jobs import Job, JobStore

__all__ = ["Job", "JobManager", "record_progress"]

log = logging.getLogger("quarry.api")

FLUSH_S = 0.5


class JobManager:
    def __init__(self, ingestor: Callable[[], Ingestor], metrics: Metrics, store: JobStore, *,
                 workers: int = 2) -> None:  # fmt: skip
        self._ingestor, self._metrics, self._store = ingestor, metrics, store
        # more than one, so a slow source (a URL dripping bytes) does not hold up every other upload
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="quarry-ingest")
        self._stopped = False

    def submit(self, kind: str, collection: str, owner: str, request_id: str, source: Callable[[], Source]) -> Job:
        """Queue an ingest of ``source()`` (built in the worker, so slow sources never block a request)."""
        job = Job(uuid.uuid4().hex, kind, collection, owner, request_id)
        self._store.add(job)
        context = contextvars.copy_context()  # carries the request id into the job's traces
        self._pool.submit(context.run, self._run, job, source)
        return job

    def get(self, job_id: str) -> Job | None:
        return self._store.get(job_id)

    def list(self, owner: str | None, limit: int = 50) -> list[Job]:
        """Newest first; ``owner=None`` lists every key's jobs."""
        return self._store.list(owner, limit)

    def shutdown(self) -> None:
        """Finish the running job and fail the queued ones (idempotent: lifespans may repeat). The job store
        belongs to the system (``Quarry.job_store``) and is closed with it."""
        if self._stopped:
            return
        self._stopped = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._store.fail_unfinished()  # jobs cancelled while queued would otherwise stay 'queued'

    def _run(self, job: Job, source: Callable[[], Source]) -> None:
        job.status, job.started_at = "running", time.time()
        self._store.save(job)
        report: IngestReport | None = None
        try:
            report = self._ingestor().run(source(), job.collection, progress=self._progress(job))
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
            self._store.save(job)
            self._metrics.observe_ingest(report, job.status)

    def _progress(self, job: Job) -> Callable[[Progress], None]:
        last = [time.monotonic()]

        def on_progress(event: Progress) -> None:
            record_progress(job, event)
            now = time.monotonic()
            if now - last[0] >= FLUSH_S:
                last[0] = now
                self._store.save(job)

        return on_progress


def record_progress(job: Job, event: Progress) -> None:
    """Count one pipeline event into ``job``'s progress."""
    if event.kind == "start":
        job.total = event.total
    elif event.kind == "unit":
        job.units[event.status] = job.units.get(event.status, 0) + 1
    elif event.kind == "chunks":
        job.chunks += event.count
