"""Quarry as an MCP server (``quarry mcp serve``): search, cited answers, documents and collections for any MCP
client, over stdio or streamable HTTP, with API keys and principals enforced as in the REST API."""

from quarry.mcp_server.server import QuarryMcp, build_server, local_caller

__all__ = ["QuarryMcp", "build_server", "local_caller"]
