"""``/v1/traces``: admin keys for every collection see every trace; an admin key limited to collections sees their
traces; other keys see only the traces of their own requests (each trace's root carries the key id, the request id
and the collection)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from quarry.api.context import CallerDep, ContextDep
from quarry.api.errors import ApiError
from quarry.api.schemas import TraceOut
from quarry.api.security import Caller
from quarry.api.wire import feedback_out, trace_out
from quarry.stores.base import TraceRecord

__all__ = ["router"]

router = APIRouter(prefix="/v1/traces", tags=["traces"])

SCAN = 1000  # recent traces a non-admin listing looks through for its own


@router.get("")
def list_traces(
    caller: CallerDep,
    context: ContextDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[Literal["ok", "error"] | None, Query()] = None,
    collection: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[float | None, Query(ge=0, description="started at or after (epoch seconds)")] = None,
    min_ms: Annotated[float | None, Query(ge=0, description="took at least this long")] = None,
) -> list[TraceOut]:
    """Recent traces this key may see, newest first, filtered by kind, status, collection, start time and latency
    (the filters look through the most recent 1,000 traces)."""
    caller.require("read")
    store = context.quarry.trace_store
    wanted = TraceQuery(status, since, min_ms)
    scan = limit if caller.operator and wanted.empty else max(SCAN, limit)
    where = {"collection": collection} if collection else None
    found = [t for t in store.traces(scan, kind, where=where) if visible_to(caller, t.attributes) and wanted.matches(t)]
    return [trace_out(t, spans=False) for t in found[:limit]]


@dataclass(frozen=True, slots=True)
class TraceQuery:
    status: str | None
    since: float | None
    min_ms: float | None

    @property
    def empty(self) -> bool:
        return self.status is None and self.since is None and self.min_ms is None

    def matches(self, trace: TraceRecord) -> bool:
        return (
            (self.status is None or trace.status == self.status)
            and (self.since is None or trace.started_at >= self.since)
            and (self.min_ms is None or trace.duration * 1000 >= self.min_ms)
        )


def visible_to(caller: Caller, attributes: Mapping[str, object]) -> bool:
    """Its own requests' traces, and for an admin key limited to collections, those collections' traces."""
    if caller.operator:
        return True
    return attributes.get("api_key") == caller.key.id or caller.oversees(attributes.get("collection"))


@router.get("/{trace_id}")
def get_trace(trace_id: Annotated[str, Path(max_length=64)], caller: CallerDep, context: ContextDep) -> TraceOut:
    """One trace with its spans (admins may give a unique prefix of the id)."""
    caller.require("read")
    if not caller.operator and len(trace_id) != 32:
        raise _not_found()
    record = context.quarry.trace_store.trace(trace_id)
    if record is None or not visible_to(caller, record.attributes):
        raise _not_found()
    out = trace_out(record, spans=True)
    given = context.quarry.feedback_store.for_traces([record.trace_id]).get(record.trace_id, [])
    out.feedback = [f.model_dump() for f in map(feedback_out, given)]
    return out


def _not_found() -> ApiError:
    return ApiError(404, "trace_not_found", "no such trace for this key (non-admin keys give the full id)")
