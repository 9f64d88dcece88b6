"""The MCP server, on the official SDK's :class:`MCPServer`.

Tools: ``search``, ``answer``, ``get_document``, ``list_collections``; every document a caller may see is a
resource ``quarry://<collection>/<quoted document uri>``. Who the caller is:

- over streamable HTTP, the API key sent as ``Authorization: Bearer <key>`` — verified against the key store
  on every request by :class:`KeyVerifier` (a revoked key is refused at once), no key or a bad one is 401;
- over stdio, the key given to ``quarry mcp serve --key`` (or ``QUARRY_API_KEY``), else the local operator,
  who sees everything (the process runs with the user's own file access anyway).

A caller then searches, answers and reads exactly as over REST: their principals filter both search paths,
their key's collections bound where they may look, and a document they may not see does not exist for them.
Blocking work (search, model calls) runs in worker threads, so one slow answer does not stall other sessions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, unquote

import anyio
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.types import Resource as McpResource

from quarry.api.security import Caller
from quarry.assembly import Quarry
from quarry.errors import CollectionNotFound, ConfigError
from quarry.stores.keys import ApiKey

__all__ = ["QuarryMcp", "build_server", "local_caller"]

SCHEME = "quarry://"
MAX_RESOURCES = 1000  # documents listed as resources per collection (all remain readable by uri)
MAX_TEXT = 100_000


def local_caller(quarry: Quarry) -> Caller:
    """The local operator (stdio without a key): sees every collection and document."""
    return Caller(ApiKey("local", "admin", (), ("*",)), quarry.settings.access)


class KeyVerifier:
    """MCP's token verifier over Quarry's key store: a valid, unrevoked key is an access token."""

    def __init__(self, quarry: Quarry) -> None:
        self.quarry = quarry

    async def verify_token(self, token: str) -> AccessToken | None:
        key = await anyio.to_thread.run_sync(self.quarry.key_store.verify, token)
        if key is None:
            return None
        claims = {"scope": key.scope, "collections": list(key.collections), "principals": list(key.principals)}
        return AccessToken(token=token, client_id=key.id, scopes=[key.scope], claims=claims)


class QuarryMcp(MCPServer[Any]):
    def __init__(self, quarry: Quarry, *, caller: Caller | None, auth: AuthSettings | None = None) -> None:
        verifier = KeyVerifier(quarry) if auth is not None else None
        super().__init__("quarry", instructions="Search and answer from this organisation's documents, with "
                         "citations. Call list_collections first to see what exists.",
                         auth=auth, token_verifier=verifier, log_level="WARNING")  # fmt: skip
        self.quarry, self.fixed = quarry, caller
        self._register()

    def caller(self) -> Caller:
        if self.fixed is not None:
            return self.fixed
        token = get_access_token()  # verified by KeyVerifier on this very request (so a revocation applies)
        if token is None or token.claims is None:
            raise ConfigError("the API key is not valid (unknown or revoked)")
        claims = token.claims
        key = ApiKey(token.client_id, claims["scope"], tuple(claims["collections"]), tuple(claims["principals"]))
        return Caller(key, self.quarry.settings.access)

    def _collection(self, caller: Caller, requested: str | None) -> str:
        chosen = requested or self.quarry.settings.agents.collection
        if not caller.key.may_use(chosen):
            raise ConfigError(f"this key may not use collection {chosen!r}")
        return chosen

    def _register(self) -> None:
        @self.tool()
        async def search(query: str, collection: str | None = None, k: int = 5) -> list[dict[str, Any]]:
            """Search the organisation's documents (hybrid BM25 + dense); the best passages and their sources.

            Args:
                query: what to look for.
                collection: the collection to search (list_collections shows them); the default one if omitted.
                k: passages to return, 1 to 20.
            """
            caller = self.caller()
            chosen = self._collection(caller, collection)

            def run() -> list[dict[str, Any]]:
                result = self.quarry.searcher.search(query, chosen, k=max(1, min(k, 20)), where=caller.visibility())
                return [{"rank": i, "document_uri": h.document_uri, "title": h.title, "score": round(h.score, 4),
                         "text": h.chunk.text, "resource": _resource_uri(chosen, h.document_uri)}
                        for i, h in enumerate(result.hits, 1)]  # fmt: skip

            return await anyio.to_thread.run_sync(run)

        @self.tool()
        async def answer(question: str, collection: str | None = None) -> dict[str, Any]:
            """Answer a question from the organisation's documents with numbered citations, or abstain.

            Args:
                question: one self-contained question.
                collection: the collection to answer from; the default one if omitted.
            """
            caller = self.caller()
            chosen = self._collection(caller, collection)

            def run() -> dict[str, Any]:
                result = self.quarry.answerer.answer(question, chosen, where=caller.visibility(),
                                                     subject=caller.key.id)  # fmt: skip
                return {"answer": result.text, "abstained": result.abstained, "supported": result.supported,
                        "citations": [{"number": c.number, "document_uri": c.document_uri, "title": c.title,
                                       "quote": c.quote, "page": c.page} for c in result.citations]}  # fmt: skip

            return await anyio.to_thread.run_sync(run)

        @self.tool()
        async def get_document(collection: str, uri: str) -> dict[str, Any]:
            """Fetch one document's text and metadata.

            Args:
                collection: its collection.
                uri: its document_uri, as search results give it.
            """
            caller = self.caller()
            text, metadata = await anyio.to_thread.run_sync(self._document, caller, collection, uri)
            return {"uri": uri, "collection": collection, "metadata": metadata, "text": text[:MAX_TEXT],
                    "truncated": len(text) > MAX_TEXT}  # fmt: skip

        @self.tool()
        async def list_collections() -> list[dict[str, Any]]:
            """The collections this caller may search, with their document counts and descriptions."""
            caller = self.caller()
            infos = await anyio.to_thread.run_sync(self.quarry.store.collections)
            return [{"name": c.name, "documents": c.documents, "description": c.description}
                    for c in infos if caller.key.may_use(c.name)]  # fmt: skip

    def _document(self, caller: Caller, collection: str, uri: str) -> tuple[str, dict[str, Any]]:
        missing = ConfigError(f"no document {uri!r} in collection {collection!r} that this caller may see")
        if not caller.key.may_use(collection):
            raise missing
        try:
            document = self.quarry.store.document(collection, uri)
        except CollectionNotFound:
            raise missing from None
        if document is None or not caller.may_see(document.metadata):
            raise missing
        return document.text, caller.show_metadata(document.metadata)

    async def list_resources(self) -> list[McpResource]:
        caller = self.caller()
        return await anyio.to_thread.run_sync(self._resources, caller)

    def _resources(self, caller: Caller) -> list[McpResource]:
        found = []
        for info in self.quarry.store.collections():
            if not caller.key.may_use(info.name):
                continue
            for doc in self.quarry.store.documents(info.name, limit=MAX_RESOURCES):
                if caller.may_see(doc.metadata):
                    uri = _resource_uri(info.name, doc.uri)
                    found.append(McpResource(uri=uri, name=doc.title or doc.uri, description=f"{info.name}: {doc.uri}",
                                             mime_type="text/plain"))  # fmt: skip
        return found

    async def read_resource(self, uri: Any, context: Any = None) -> Iterable[ReadResourceContents]:
        text_uri = str(uri)
        if not text_uri.startswith(SCHEME):
            raise ResourceError(f"unknown resource {text_uri}")
        collection, _, quoted = text_uri[len(SCHEME) :].partition("/")
        caller = self.caller()
        try:
            text, _ = await anyio.to_thread.run_sync(self._document, caller, collection, unquote(quoted))
        except ConfigError as exc:
            raise ResourceError(exc.message) from None
        return [ReadResourceContents(content=text, mime_type="text/plain")]


def _resource_uri(collection: str, document_uri: str) -> str:
    return f"{SCHEME}{collection}/{quote(document_uri, safe='')}"


def build_server(quarry: Quarry, *, caller: Caller | None = None, public_url: str | None = None) -> QuarryMcp:
    """The server for stdio (``caller``: who the process acts as) or, with ``public_url``, for HTTP with API keys."""
    if public_url is None:
        return QuarryMcp(quarry, caller=caller or local_caller(quarry))
    auth = AuthSettings(issuer_url=public_url, resource_server_url=f"{public_url}/mcp", validate_token_resource=False)
    return QuarryMcp(quarry, caller=None, auth=auth)
