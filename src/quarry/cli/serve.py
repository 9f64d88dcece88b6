"""``quarry serve``: the HTTP API under uvicorn, in one process or ``--workers N``."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from quarry.cli.common import console, system, where_of

HOME_ENV = "QUARRY_HOME"


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="address to bind (default api.host, 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default api.port, 8000)")] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="worker processes (use the core count; each loads its own model)")
    ] = 1,
    cache: Annotated[
        bool | None, typer.Option("--cache/--no-cache", help="cache search responses (default api.result_cache)")
    ] = None,
    access_log: Annotated[
        bool | None,
        typer.Option("--access-log/--no-access-log", help="JSON line per request on stdout (default api.access_log)"),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve the REST API (/v1), OpenAI-compatible chat, /healthz, /readyz and /metrics.

    /metrics needs the scraper token (the variable named by api.metrics_token_env) or an admin key.
    With --workers N, rate limits are split between the processes and each keeps its own result cache;
    jobs and keys are shared through the store. Cache sizes live in [api] (result_cache_*)."""
    import uvicorn

    from quarry.api.access_log import enable_access_log
    from quarry.api.worker import OPTIONS_ENV, ServeOptions, create_worker_app

    where = where_of(ctx)
    overrides = {"QUARRY_API__RESULT_CACHE": cache, "QUARRY_API__ACCESS_LOG": access_log}
    for variable, value in overrides.items():  # settings variables, so worker processes see them too
        if value is not None:
            os.environ[variable] = "true" if value else "false"
    if where.home is not None:
        os.environ[HOME_ENV] = str(where.home.expanduser().resolve())
    options = ServeOptions(config=str(where.config.resolve()) if where.config else None, workers=workers)
    os.environ[OPTIONS_ENV] = options.to_env()
    quarry = system(ctx)  # checks the settings and opens the store once, in this process, before any worker
    settings = quarry.settings
    bind_host, bind_port = host or settings.api.host, port if port is not None else settings.api.port
    console.print(f"serving {settings.store.where} on http://{bind_host}:{bind_port} ({workers} worker(s))")
    common: dict[str, Any] = {"host": bind_host, "port": bind_port, "log_level": log_level, "access_log": False}
    if workers == 1:
        from quarry.api import create_app

        if settings.api.access_log:
            enable_access_log()
        uvicorn.run(create_app(quarry, settings), timeout_graceful_shutdown=10, **common)
        return
    quarry.close()  # each worker builds its own
    uvicorn.run(
        f"{create_worker_app.__module__}:{create_worker_app.__name__}",
        factory=True,
        workers=workers,
        timeout_graceful_shutdown=10,
        **common,
    )
