"""``quarry serve``: the HTTP API under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from quarry.cli.app import app, console, system


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="address to bind (default api.host, 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default api.port, 8000)")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve the REST API (/v1), OpenAI-compatible chat, /healthz, /readyz and /metrics."""
    import uvicorn

    from quarry.api import create_app

    quarry = system(ctx)
    settings = quarry.settings
    bind_host, bind_port = host or settings.api.host, port if port is not None else settings.api.port
    console.print(f"serving {settings.store.path} on http://{bind_host}:{bind_port}")
    uvicorn.run(
        create_app(quarry, settings),
        host=bind_host,
        port=bind_port,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
