"""The FastAPI app factory: ``create_app(quarry, settings)``."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI

from quarry import __version__
from quarry.api.context import ApiContext, RequestTagger
from quarry.api.errors import install_handlers
from quarry.api.jobs import JobManager
from quarry.api.keys import KeyStore, keys_path
from quarry.api.metrics import Metrics
from quarry.api.middleware import ServiceMiddleware
from quarry.api.routes import answer, collections, documents, health, jobs, openai, search, traces
from quarry.api.schemas import ErrorResponse
from quarry.api.security import RateLimiter
from quarry.assembly import Quarry
from quarry.settings import Settings

__all__ = ["create_app"]

UPLOAD_PATH = re.compile(r"^/v1/collections/[^/]+/documents/?$")
DESCRIPTION = """Grounded, cited answers and permission-aware search over your documents.

Authenticate with `Authorization: Bearer <key>` (`quarry keys create`). Errors are
`{"error": {"code", "message", "request_id"}}`; send `X-Request-ID` to choose the request id.
"""

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in [
        (400, "invalid request"),
        (401, "no or invalid API key"),
        (403, "the key may not do this"),
        (404, "not found (or not visible to this key)"),
        (413, "body too large"),
        (422, "validation failed"),
        (429, "rate limited; see Retry-After"),
        (503, "not configured or not ready"),
    ]
}


def create_app(quarry: Quarry, settings: Settings | None = None) -> FastAPI:
    settings = settings or quarry.settings
    metrics = Metrics()
    keys = KeyStore(keys_path(settings))
    jobs_manager = JobManager(lambda: quarry.ingestor, metrics)
    quarry.tracer.sinks.insert(0, RequestTagger())
    context = ApiContext(
        quarry, settings, keys, RateLimiter(settings.api.rate_per_s, settings.api.rate_burst), metrics, jobs_manager
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(_warm_up, quarry)
        yield
        await anyio.to_thread.run_sync(jobs_manager.shutdown)
        keys.close()

    app = FastAPI(title="Quarry", version=__version__, description=DESCRIPTION, lifespan=lifespan, responses=_ERRORS)
    app.state.ctx = context
    app.state.metrics = metrics
    install_handlers(app)
    for module in (health, collections, documents, jobs, search, answer, openai, traces):
        app.include_router(module.router)
    app.add_middleware(
        ServiceMiddleware,
        metrics=metrics,
        max_body=settings.api.max_body_kb * 1024,
        max_upload=int(settings.api.max_upload_mb * 1024 * 1024),
        timeout_s=settings.api.request_timeout_s,
        upload_path=UPLOAD_PATH,
    )
    return app


def _warm_up(quarry: Quarry) -> None:
    """Open the store and load the embedding model before the first request (``/readyz`` waits on it)."""
    quarry.store.collections()
    quarry.embedder.embed_query("warm up")
