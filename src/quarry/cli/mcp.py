"""``quarry mcp serve``: this knowledge base as an MCP server (stdio for desktop clients, or streamable HTTP)."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from quarry.cli.common import err_console, system

__all__ = ["mcp_app"]

mcp_app = typer.Typer(rich_markup_mode=None, help="The Model Context Protocol server.", no_args_is_help=True)


@mcp_app.command("serve")
def serve(
    ctx: typer.Context,
    transport: Annotated[
        Literal["stdio", "http"], typer.Option(help="stdio (a desktop client starts it) or http")
    ] = "stdio",
    host: Annotated[str, typer.Option(help="address to bind (http)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (http); the endpoint is /mcp")] = 8765,
    key: Annotated[
        str | None, typer.Option("--key", envvar="QUARRY_API_KEY", help="stdio: act as this API key (default: local)")
    ] = None,
) -> None:
    """Serve search, answer, get_document and list_collections as MCP tools and documents as resources. Over
    HTTP every request needs 'Authorization: Bearer <API key>'; the key's principals apply as in the REST API."""
    from quarry.api.security import Caller
    from quarry.errors import ConfigError
    from quarry.mcp_server import build_server

    quarry = system(ctx)
    if transport == "stdio":
        caller = None
        if key:
            found = quarry.key_store.verify(key)
            if found is None:
                raise ConfigError("the API key is not valid (unknown or revoked)", key="--key")
            caller = Caller(found, quarry.settings.access)
        build_server(quarry, caller=caller).run("stdio")
        return
    if key:
        raise ConfigError("--key is for stdio; HTTP clients send their own key", key="--key")
    import uvicorn

    server = build_server(quarry, public_url=f"http://{host}:{port}")
    err_console.print(f"MCP server on http://{host}:{port}/mcp (send 'Authorization: Bearer <API key>')")
    uvicorn.run(server.streamable_http_app(host=host), host=host, port=port, log_level="warning")
