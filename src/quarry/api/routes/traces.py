"""``/v1/traces``: admin keys for every collection see every trace; an admin key limited to collections sees their
traces; other keys see only the traces of their own requests (each trace's root carries the key id, the request id
and the collection)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Path, Query

from quarry.api.context import CallerDep, ContextDep
from quarry.api.errors import ApiError
from quarry.api.schemas import TraceOut
from quarry.api.security import Caller
from quarry.api.wire import feedback_out, trace_out

__all__ = ["router"]

router = APIRouter(prefix="/v1/traces", tags=["traces"])

SCAN = 1000  # recent traces a non-admin listing looks through for its own


@router.get("")
def list_traces(
    caller: CallerDep,
    context: ContextDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    kind: Annotated[str | None, Query(max_length=32)] = None,
) -> list[TraceOut]:
    caller.require("read")
    store = context.quarry.trace_store
    if caller.operator:
        return [trace_out(t, spans=False) for t in store.traces(limit, kind)]
    mine = [t for t in store.traces(SCAN, kind) if visible_to(caller, t.attributes)]
    return [trace_out(t, spans=False) for t in mine[:limit]]


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
