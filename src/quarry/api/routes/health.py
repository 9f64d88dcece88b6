"""``/healthz`` (the process answers), ``/readyz`` (store opens, embedding model loaded), ``/metrics``.

``/metrics`` needs a bearer token: an admin-scoped API key, or the scraper token the operator set
(read from the environment variable named by ``[api] metrics_token_env``; default
``QUARRY_METRICS_TOKEN``). Scrapers should use the scraper token: an admin key could also delete
collections. Health and readiness stay open (load balancers call them without credentials).
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST

from quarry.api.context import ContextDep, bearer
from quarry.api.errors import ApiError
from quarry.api.security import authenticate

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(context: ContextDep) -> JSONResponse:
    checks = {"store": False, "embedder": "embedder" in context.quarry.__dict__}
    try:
        context.quarry.store.collections()
        checks["store"] = True
    except Exception:  # any failure to open or read the store means "not ready"
        checks["store"] = False
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )


async def _scraper(
    context: ContextDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """Let the scraper token through; otherwise 401 without a valid key, 403 for a key below admin."""
    token = credentials.credentials if credentials is not None else None
    expected = context.metrics_token
    if token and expected and hmac.compare_digest(token.encode(), expected.encode()):
        return
    caller = authenticate(context.keys, context.limiter, context.settings.access, token)
    caller.require("admin")
    if not caller.operator:  # the metrics are the whole process's: not for a key limited to some collections
        raise ApiError(403, "forbidden", "the metrics cover every collection; this key is limited to some")


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[Depends(_scraper)],
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text"},
        401: {"description": "no token, or not a valid key or scraper token"},
        403: {"description": "a valid key below admin scope"},
    },
)
def metrics(context: ContextDep) -> Response:
    """Prometheus metrics of this worker process. Send ``Authorization: Bearer <token>``: the scraper
    token (``QUARRY_METRICS_TOKEN``, or the variable named by ``[api] metrics_token_env``) or an
    admin-scoped API key. With ``--workers N`` each scrape reaches one worker; its counters are that
    process's own."""
    return Response(context.metrics.render(), media_type=CONTENT_TYPE_LATEST)
