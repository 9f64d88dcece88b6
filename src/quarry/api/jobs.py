"""Background ingest jobs, run by a small pool of worker threads per process, progress from pipeline events.

Jobs are rows of the configured :class:`~quarry.stores.jobs.JobStore` (``<store>.jobs.db`` by default, PostgreSQL
when scaled out): they survive a restart and every worker process sees them. Without a queue a job runs in the
process that accepted it; with one (``[api] redis_url``) its spec goes on the shared queue and whichever replica's
worker takes it and claims its row runs it — exactly one does. Progress is written at most every ``FLUSH_S``
seconds and at each status change. Each job belongs to the key that started it; only that key (or an admin key)
can read it.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from quarry.api.errors import REQUEST_ID
from quarry.api.job_queue import JobQueue
from quarry.api.job_specs import JobSpec
from quarry.api.metrics import Metrics
from quarry.errors import QuarryError
from quarry.ingest.sources import Source
from quarry.pipeline import Ingestor, IngestReport, Progress
from quarry.stores.jobs import Job, JobStore

__all__ = ["Job", "JobManager", "record_progress"]

log = logging.getLogger("quarry.api")

FLUSH_S = 0.5


class JobManager:
    def __init__(self, ingestor: Callable[[], Ingestor], metrics: Metrics, store: JobStore,
                 open_source: Callable[[JobSpec], Source], *, workers: int = 2,
                 queue: JobQueue | None = None) -> None:  # fmt: skip
        """``open_source`` builds a job's source from its spec in the worker (slow sources never block a request)."""
        self._ingestor, self._metrics, self._store, self._open = ingestor, metrics, store, open_source
        # more than one, so a slow source (a URL dripping bytes) does not hold up every other upload
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="quarry-ingest")
        self._queue, self._stopped = queue, False
        self._stopping = threading.Event()
        for _ in range(workers if queue is not None else 0):
            self._pool.submit(self._take_jobs)

    def submit(self, kind: str, collection: str, owner: str, request_id: str, spec: JobSpec) -> Job:
        """Queue an ingest of what ``spec`` names: here, or on the shared queue for any replica."""
        job = Job(uuid.uuid4().hex, kind, collection, owner, request_id)
        if self._queue is not None:
            self._store.add(job, owned=False)
            self._queue.put(job.id, spec.to_bytes())
            return job
        self._store.add(job)
        context = contextvars.copy_context()  # carries the request id into the job's traces
        self._pool.submit(context.run, self._run, job, lambda: self._open(spec))
        return job

    def _take_jobs(self) -> None:
        """A worker of the shared queue: take, claim, run, until shutdown."""
        assert self._queue is not None
        while not self._stopping.is_set():
            try:
                taken = self._queue.take(1.0)
            except Exception:  # Redis unreachable for a moment: keep the worker alive
                log.exception("could not take from the job queue")
                self._stopping.wait(1.0)
                continue
            if taken is None:
                continue
            job = self._store.get(taken.job_id) if self._store.claim(taken.job_id) else None
            if job is not None:
                REQUEST_ID.set(job.request_id)
                self._run(job, partial(self._open, JobSpec.from_bytes(taken.spec)))
            self._queue.done(taken)

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
        self._stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._store.fail_unfinished()  # jobs cancelled while queued would otherwise stay 'queued'

    def _run(self, job: Job, source: Callable[[], Source]) -> None:
        job.status, job.started_at = "running", job.started_at or time.time()
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
