"""The ingest job queue every replica takes from (``[api] redis_url``): a Redis list. ``take`` moves an entry
atomically (``BLMOVE``) to this process's own list, so one entry reaches one worker; the job row is then claimed in
the job store (``JobStore.claim``), which admits one claimant even if an entry were ever delivered twice. A
process that dies holding an entry leaves its job row ``running`` under its pid, and the job is failed as
interrupted like any other; the entry is dropped with the dead process's list."""

from __future__ import annotations

import base64
import json
import os
import socket
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["JobQueue", "QueuedJob", "RedisJobQueue"]


@dataclass(frozen=True, slots=True)
class QueuedJob:
    job_id: str
    spec: bytes
    raw: bytes  # the list entry, to remove it when done


class JobQueue(Protocol):
    def put(self, job_id: str, spec: bytes) -> None: ...

    def take(self, timeout_s: float) -> QueuedJob | None:
        """The next job, waiting up to ``timeout_s``; None when there was none."""
        ...

    def done(self, job: QueuedJob) -> None: ...


class RedisJobQueue:
    def __init__(self, client: Any, *, prefix: str = "quarry:jobs") -> None:
        self.client, self.queue = client, f"{prefix}:queue"
        self.taken = f"{prefix}:taken:{socket.gethostname()}:{os.getpid()}"

    def put(self, job_id: str, spec: bytes) -> None:
        self.client.lpush(self.queue, json.dumps({"id": job_id, "spec": base64.b64encode(spec).decode()}))

    def take(self, timeout_s: float) -> QueuedJob | None:
        raw = self.client.blmove(self.queue, self.taken, timeout_s, "RIGHT", "LEFT")
        if raw is None:
            return None
        body = json.loads(raw)
        return QueuedJob(body["id"], base64.b64decode(body["spec"]), raw)

    def done(self, job: QueuedJob) -> None:
        self.client.lrem(self.taken, 1, job.raw)
