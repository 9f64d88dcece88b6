"""``/v1/traces``: admin keys see every trace; other keys see only the traces of their own requests
(each trace's root carries the key id and the request id)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from quarry.api.context import CallerDep, ContextDep
from quarry.api.errors import ApiError
from quarry.api.schemas import TraceOut
from quarry.api.wire import trace_out

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
    if caller.key.allows("admin"):
        return [trace_out(t, spans=False) for t in store.traces(limit, kind)]
    mine = [t for t in store.traces(SCAN, kind) if t.attributes.get("api_key") == caller.key.id]
    return [trace_out(t, spans=False) for t in mine[:limit]]


@router.get("/{trace_id}")
def get_trace(trace_id: Annotated[str, Path(max_length=64)], caller: CallerDep, context: ContextDep) -> TraceOut:
    """One trace with its spans (admins may give a unique prefix of the id)."""
    caller.require("read")
    admin = caller.key.allows("admin")
    if not admin and len(trace_id) != 32:
        raise _not_found()
    record = context.quarry.trace_store.trace(trace_id)
    if record is None or not (admin or record.attributes.get("api_key") == caller.key.id):
        raise _not_found()
    return trace_out(record, spans=True)


def _not_found() -> ApiError:
    return ApiError(404, "trace_not_found", "no such trace for this key (non-admin keys give the full id)")
