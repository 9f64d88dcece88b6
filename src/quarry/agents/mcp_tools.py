"""Tools from MCP servers (``[[agents.mcp_servers]]``), through the official ``mcp`` SDK's client.

Each server's tools are listed once when the agent is built and become :class:`Tool` s named
``<server>__<tool>``, with the server's JSON schema (arguments validated by Quarry before the call, like a
native tool's), the server's configured risk level (so approvals apply) and its timeout. A call opens a
session (a stdio subprocess, or a streamable-HTTP connection with the configured headers), calls the tool and
closes it — nothing is shared between runs or threads.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from quarry.agents.tools import Tool, ToolContext, from_json_schema
from quarry.errors import ConfigError, SourceError
from quarry.settings import McpServerSettings

__all__ = ["load_mcp_tools", "mcp_session"]


@asynccontextmanager
async def mcp_session(server: McpServerSettings) -> AsyncIterator[Client]:
    """A connected client for ``server``: a stdio subprocess, or an HTTP connection whose client is closed after."""
    if server.command:
        params = StdioServerParameters(command=server.command[0], args=list(server.command[1:]),
                                       env={**os.environ, **server.env})  # fmt: skip
        async with Client(params, read_timeout_seconds=server.timeout_s) as client:
            yield client
        return
    assert server.url is not None
    async with httpx2.AsyncClient(headers=server.headers, timeout=server.timeout_s) as http:
        transport = streamable_http_client(server.url, http_client=http)
        async with Client(transport, read_timeout_seconds=server.timeout_s) as client:
            yield client


async def _list(server: McpServerSettings) -> list[Any]:
    async with mcp_session(server) as client:
        return list((await client.list_tools()).tools)


async def _call(server: McpServerSettings, name: str, arguments: dict[str, Any]) -> Any:
    async with mcp_session(server) as client:
        return await client.call_tool(name, arguments)


def _result(result: Any) -> Any:
    """A call's result as the model should read it; an error result raises (the loop reports it)."""
    texts = [block.text for block in result.content if getattr(block, "type", "") == "text"]
    if result.is_error:
        raise SourceError("; ".join(texts) or "the MCP tool reported an error", source="mcp")
    if result.structured_content is not None:
        return result.structured_content
    return "\n".join(texts) if texts else json.dumps([b.model_dump(mode="json") for b in result.content])


def _tool(server: McpServerSettings, listed: Any) -> Tool:
    remote = listed.name

    def invoke(arguments: dict[str, Any], _context: ToolContext) -> Any:
        return _result(anyio.run(_call, server, remote, arguments))

    schema = listed.input_schema or {"type": "object", "properties": {}}
    return from_json_schema(f"{server.name}__{remote}", listed.description or remote, schema, invoke,
                            risk=server.risk, timeout_s=server.timeout_s, source=f"mcp:{server.name}")  # fmt: skip


def load_mcp_tools(servers: Sequence[McpServerSettings]) -> list[Tool]:
    """Every configured server's tools; a server that cannot be reached is a :class:`ConfigError` naming it."""
    tools: list[Tool] = []
    for server in servers:
        try:
            listed = anyio.run(_list, server)
        except Exception as exc:
            raise ConfigError(f"MCP server {server.name!r} could not list its tools: {type(exc).__name__}: {exc}",
                              key="agents.mcp_servers",
                              hint="check its command or url (and that it speaks MCP)") from None  # fmt: skip
        tools.extend(_tool(server, t) for t in listed)
    return tools
