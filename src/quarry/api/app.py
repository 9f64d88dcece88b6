"""The FastAPI app factory: ``create_app(quarry, settings)``."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio
from fastapi import FastAPI

from quarry import __version__
from quarry.api.console_routes import install_console
from quarry.api.context import ApiContext, RequestTagger
from quarry.api.drift_gauges import DriftGauges
from quarry.api.errors import install_handlers
from quarry.api.job_queue import JobQueue
from quarry.api.job_specs import build_source
from quarry.api.jobs import JobManager
from quarry.api.metrics import Metrics
from quarry.api.middleware import ServiceMiddleware
from quarry.api.routes import (
    agents,
    answer,
    collections,
    documents,
    evals,
    experiments,
    feedback,
    health,
    jobs,
    openai,
    pages,
    prompts,
    registry,
    search,
    traces,
)
from quarry.api.routes import keys as keys_routes
from quarry.api.schemas import ErrorResponse
from quarry.api.security import Limiter, RateLimiter
from quarry.api.trace_metrics import TraceMetrics
from quarry.assembly import Quarry
from quarry.cache.results import ResultCache, ResultCacheConfig, SearchResultCache
from quarry.errors import QuarryError
from quarry.settings import Settings

__all__ = ["create_app"]

log = logging.getLogger("quarry.api")

UPLOAD_PATH = re.compile(r"^/v1/collections/[^/]+/documents/?$")
DESCRIPTION = """Grounded, cited answers and permission-aware search over your documents.

Authenticate with `Authorization: Bearer <key>` (`quarry keys create`); `/metrics` takes an admin key or
the operator's scraper token, `/healthz` and `/readyz` are open. Errors are
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


def result_cache_config(settings: Settings) -> ResultCacheConfig:
    api = settings.api
    return ResultCacheConfig(
        enabled=api.result_cache,
        max_entries=api.result_cache_entries,
        max_bytes=int(api.result_cache_mb * 2**20),
        ttl_s=api.result_cache_ttl_s,
    )


def _shared_state(
    settings: Settings, workers: int, cache: ResultCacheConfig
) -> tuple[Limiter, SearchResultCache, JobQueue | None]:
    """The rate limiter, search result cache and job queue: in Redis for every process when ``[api] redis_url`` is
    set (one global bucket per key, one queue), else this process's own (each worker getting its share of the
    rate) and no queue (a job runs where it was accepted)."""
    api = settings.api
    if api.redis_url:
        from quarry.api.job_queue import RedisJobQueue
        from quarry.cache.shared_redis import RedisRateLimiter, RedisResultCache, redis_client

        client = redis_client(api.redis_url, "api.redis_url")
        limiter = RedisRateLimiter(client, api.rate_per_s, api.rate_burst)
        return limiter, RedisResultCache(client, cache), RedisJobQueue(client)
    share = max(1, workers)
    return RateLimiter(api.rate_per_s / share, max(1, api.rate_burst // share)), ResultCache(cache), None


def create_app(
    quarry: Quarry,
    settings: Settings | None = None,
    *,
    cache: ResultCacheConfig | None = None,
    metrics_token: str | None = None,
    workers: int = 1,
    close_quarry: bool = False,
) -> FastAPI:
    """The app over ``quarry``.

    ``cache``: the search result cache (default: from ``[api] result_cache*``). ``metrics_token``: a
    scraper's bearer token for ``/metrics`` (default: the variable named by ``[api] metrics_token_env``).
    ``workers``: how many
    processes serve together: the per-key rate limit is a token bucket per process, so each process
    gets ``rate / workers`` (and ``burst / workers``) and the sum stays the configured limit.
    ``close_quarry``: close the system when the app stops (worker processes own theirs)."""
    settings = settings or quarry.settings
    metrics = Metrics(answer_cache=quarry.settings.cache.enabled)
    drift = DriftGauges(metrics.registry)
    keys = quarry.key_store
    limiter, results, queue = _shared_state(settings, workers, cache or result_cache_config(settings))
    open_source = partial(build_source, settings=settings)
    jobs_manager = JobManager(lambda: quarry.ingestor, metrics, quarry.job_store, open_source,
                              workers=settings.api.ingest_workers, queue=queue)  # fmt: skip
    quarry.tracer.sinks.insert(0, RequestTagger())
    quarry.tracer.sinks.append(TraceMetrics(metrics.registry))
    token = metrics_token if metrics_token is not None else os.environ.get(settings.api.metrics_token_env)
    context = ApiContext(quarry, settings, keys, limiter, metrics, jobs_manager, results, token or None)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(_warm_up, quarry)
        drift.start(quarry, settings.api.drift_interval_s)
        stop_sweeping = _sweep_approvals(context)
        yield
        stop_sweeping.set()
        drift.stop()
        await anyio.to_thread.run_sync(jobs_manager.shutdown)
        if close_quarry:  # the key and job stores belong to the system and close with it
            quarry.close()

    app = FastAPI(title="Quarry", version=__version__, description=DESCRIPTION, lifespan=lifespan, responses=_ERRORS,
                  docs_url=None, redoc_url=None)  # fmt: skip
    app.state.ctx = context
    app.state.metrics = metrics
    app.state.drift = drift
    install_handlers(app)
    routers = (health, collections, documents, jobs, search, answer, openai, traces, feedback, prompts, experiments,
               keys_routes, agents, evals, pages, registry)  # fmt: skip
    for module in routers:
        app.include_router(module.router)
    install_console(app)
    app.add_middleware(
        ServiceMiddleware,
        metrics=metrics,
        max_body=settings.api.max_body_kb * 1024,
        max_upload=int(settings.api.max_upload_mb * 1024 * 1024),
        timeout_s=settings.api.request_timeout_s,
        upload_path=UPLOAD_PATH,
    )
    return app


def _sweep_approvals(context: ApiContext) -> threading.Event:
    """Escalate agent approvals nobody decided in time, every minute (or sooner for short timeouts)."""
    stop = threading.Event()
    interval = min(60.0, context.settings.agents.approval_timeout_s / 4)

    def loop() -> None:
        while not stop.wait(interval):
            try:
                agents.sweep(context)
            except Exception:  # a store hiccup must not end the sweeper
                log.exception("approval sweep failed")

    threading.Thread(target=loop, name="approval-sweeper", daemon=True).start()
    return stop


def _warm_up(quarry: Quarry) -> None:
    """Open the store, load the embedding model and build every collection's BM25 and vector indexes
    before the first request (``/readyz`` waits on it). Without the index builds, the first burst of
    concurrent searches each built its own copy of a cold index (~2 s each on SciFact, all at once)."""
    vector = quarry.embedder.embed_query("warm up")
    for info in quarry.store.collections():
        try:
            quarry.store.rank_text(info.name, "warm up", 1)
            if info.embedder == quarry.embedder.model_id:
                quarry.store.rank_vector(info.name, vector, 1)
        except QuarryError as exc:  # a collection the store cannot index must not keep the others down
            log.warning("warm-up of collection %s failed: %s", info.name, exc)
