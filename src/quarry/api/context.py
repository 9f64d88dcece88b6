"""What every route needs: the wired system, keys, limits, metrics, jobs — and the caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from quarry.api.access_log import ACCESS
from quarry.api.errors import CALLER_KEY, REQUEST_ID, ApiError
from quarry.api.jobs import JobManager
from quarry.api.metrics import Metrics
from quarry.api.security import Caller, Limiter, authenticate
from quarry.assembly import Quarry
from quarry.cache.results import SearchResultCache
from quarry.errors import QuarryError
from quarry.settings import Settings
from quarry.stores.keys import KeyStore
from quarry.tracing import Trace

__all__ = ["ApiContext", "CallerDep", "ContextDep", "RequestTagger", "answerer_of", "bearer"]


@dataclass
class ApiContext:
    quarry: Quarry
    settings: Settings
    keys: KeyStore
    limiter: Limiter
    metrics: Metrics
    jobs: JobManager
    results: SearchResultCache
    metrics_token: str | None = None  # a scraper's bearer token for /metrics (admin keys work too)


class RequestTagger:
    """A span sink placed first: stamps each trace's root with the request id and the calling key, so
    traces can be found by request and shown to the key that made them."""

    def save_trace(self, trace: Trace) -> None:
        request_id = REQUEST_ID.get()
        if request_id:
            trace.root.attributes.setdefault("request_id", request_id)
        key_id = CALLER_KEY.get()
        if key_id:
            trace.root.attributes.setdefault("api_key", key_id)
        record = ACCESS.get()
        if record is not None and not record.trace_id:
            record.trace_id = trace.trace_id


async def _context(request: Request) -> ApiContext:  # async: a sync dependency would cost a threadpool hop
    context: ApiContext = request.app.state.ctx
    return context


ContextDep = Annotated[ApiContext, Depends(_context)]

bearer = HTTPBearer(auto_error=False, description="an API key from `quarry keys create`")


async def _caller(
    context: ContextDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Caller:
    token = credentials.credentials if credentials is not None else None
    caller = authenticate(context.keys, context.limiter, context.settings.access, token)  # µs: a point query
    CALLER_KEY.set(caller.key.id)
    record = ACCESS.get()
    if record is not None:
        record.key_id = caller.key.id
    return caller


CallerDep = Annotated[Caller, Depends(_caller)]


def subject_of(caller: Caller, session: str | None) -> str:
    """Who an experiment keeps on one variant: the API key, narrowed by a user or session id when given."""
    return f"{caller.key.id}:{session}" if session else caller.key.id


def answerer_of(context: ApiContext) -> Any:
    """The system's answerer, or 503 while answering is not configured."""
    try:
        answerer = getattr(context.quarry, "answerer", None)
    except QuarryError as exc:  # building it failed (no model configured): say so, not 500
        raise ApiError(503, "answering_unavailable", f"answering is not configured: {exc}") from exc
    if answerer is None:
        raise ApiError(503, "answering_unavailable", "answering is not configured on this server")
    return answerer
