"""``quarry serve``: the HTTP API under uvicorn, in one process or ``--workers N``."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from quarry.cli.common import console, system


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="address to bind (default api.host, 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default api.port, 8000)")] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="worker processes (use the core count; each loads its own model)")
    ] = 1,
    cache: Annotated[bool, typer.Option(help="cache search responses (per process; writes invalidate)")] = True,
    cache_entries: Annotated[int, typer.Option(min=1, help="search result cache: most entries")] = 4096,
    cache_mb: Annotated[float, typer.Option(min=0.1, help="search result cache: most megabytes")] = 64.0,
    cache_ttl: Annotated[float, typer.Option(min=0.0, help="search result cache: seconds an entry lives")] = 300.0,
    metrics_token_env: Annotated[
        str, typer.Option(help="environment variable holding the /metrics scraper token")
    ] = "QUARRY_METRICS_TOKEN",
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve the REST API (/v1), OpenAI-compatible chat, /healthz, /readyz and /metrics.

    /metrics needs the scraper token (from --metrics-token-env) or an admin key. With --workers N,
    rate limits are split between the processes and each keeps its own result cache; jobs and keys
    are shared through their SQLite files."""
    import uvicorn

    from quarry.api.worker import OPTIONS_ENV, ServeOptions, create_worker_app
    from quarry.cache.results import ResultCacheConfig

    config = ResultCacheConfig(
        enabled=cache, max_entries=cache_entries, max_bytes=int(cache_mb * 2**20), ttl_s=cache_ttl
    )
    options = ServeOptions(
        config=str(ctx.obj.resolve()) if ctx.obj else None,
        workers=workers,
        cache=config,
        metrics_token_env=metrics_token_env,
    )
    os.environ[OPTIONS_ENV] = options.to_env()
    quarry = system(ctx)  # checks the settings and opens the store once, in this process, before any worker
    settings = quarry.settings
    bind_host, bind_port = host or settings.api.host, port if port is not None else settings.api.port
    console.print(f"serving {settings.store.path} on http://{bind_host}:{bind_port} ({workers} worker(s))")
    common: dict[str, Any] = {"host": bind_host, "port": bind_port, "log_level": log_level, "access_log": False}
    if workers == 1:
        from quarry.api import create_app

        token = os.environ.get(metrics_token_env)
        uvicorn.run(
            create_app(quarry, settings, cache=config, metrics_token=token), timeout_graceful_shutdown=10, **common
        )
        return
    quarry.close()  # each worker builds its own
    uvicorn.run(
        f"{create_worker_app.__module__}:{create_worker_app.__name__}",
        factory=True,
        workers=workers,
        timeout_graceful_shutdown=10,
        **common,
    )
