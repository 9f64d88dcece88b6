"""``/v1/jobs``: ingest jobs of this key (every key's for admin keys)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from quarry.api.context import CallerDep, ContextDep
from quarry.api.errors import ApiError
from quarry.api.schemas import JobOut
from quarry.api.wire import job_out

__all__ = ["router"]

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("")
def list_jobs(caller: CallerDep, context: ContextDep, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[JobOut]:
    caller.require("read")
    if caller.operator:
        return [job_out(j) for j in context.jobs.list(None, limit)]
    if caller.key.allows("admin"):  # limited to collections: their jobs, whoever started them
        return [job_out(j) for j in context.jobs.list(None, limit) if caller.oversees(j.collection)]
    return [job_out(j) for j in context.jobs.list(caller.key.id, limit)]


@router.get("/{job_id}")
def get_job(job_id: str, caller: CallerDep, context: ContextDep) -> JobOut:
    """Status, progress counts (from the pipeline's progress events) and per-file errors."""
    caller.require("read")
    job = context.jobs.get(job_id)
    if job is None or not (job.owner == caller.key.id or caller.operator or caller.oversees(job.collection)):
        raise ApiError(404, "job_not_found", "no such job for this key")
    return job_out(job)
