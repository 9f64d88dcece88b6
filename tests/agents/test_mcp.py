"""MCP both ways, with real processes: an MCP client session against `quarry mcp serve` over stdio and over
streamable HTTP sees only what its API key may see; and an agent uses a real MCP server's tool (this one,
started over stdio) with Quarry's validation in front of it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from quarry.agents import Agent, ToolContext, ToolResult
from quarry.agents.mcp_tools import load_mcp_tools
from quarry.errors import ConfigError
from quarry.settings import AgentSettings, McpServerSettings
from quarry.stores.sqlite.agents import SQLiteRunStore
from quarry.testing.chat import ScriptedChatModel
from quarry.tracing import Tracer
from tests.agents.conftest import answer, call
from tests.api.conftest import COLLECTION, LEAK_QUERY, SECRET, write_corpus
from tests.api.test_server import free_port

CONFIG = f"""
[access]
rules = [{{ glob = "hr/**", principals = ["group:hr"] }}]
[agents]
collection = "{COLLECTION}"
"""


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")}
    return env | {"QUARRY_HOME": str(home)}


def _quarry(home: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "quarry", *args], env=_env(home), capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("mcp")
    home = root / "home"
    home.mkdir()
    (home / "quarry.toml").write_text(CONFIG)
    corpus = write_corpus(root / "corpus")
    _quarry(home, "ingest", str(corpus), "-c", COLLECTION)
    staff = json.loads(_quarry(home, "keys", "create", "--scope", "read", "--json"))["token"]
    hr = json.loads(_quarry(home, "keys", "create", "--scope", "read", "--principal", "group:hr", "--json"))["token"]
    return {"home": home, "staff": staff, "hr": hr}


async def _explore(
    client: Client, restricted: str | None = None, http: httpx2.AsyncClient | None = None
) -> dict[str, Any]:
    """What a client sees: its tools, a search, the collections, its resources; and, given the restricted
    document's resource uri, what reading it (as a resource and through get_document) returns."""
    async with client:
        seen: dict[str, Any] = {"tools": sorted(t.name for t in (await client.list_tools()).tools)}
        seen["search"] = _text(await client.call_tool("search", {"query": LEAK_QUERY, "k": 5}))
        seen["collections"] = _text(await client.call_tool("list_collections", {}))
        seen["resources"] = [str(r.uri) for r in (await client.list_resources()).resources]
        target = restricted or next(u for u in seen["resources"] if "salaries" in u)
        try:
            contents = (await client.read_resource(target)).contents
            seen["read"] = "".join(getattr(c, "text", "") for c in contents)
        except Exception as exc:  # the SDK raises the server's error for a resource it refused
            seen["read"] = f"refused: {exc}"
        document_uri = unquote(target.split("/", 3)[3])
        fetched = await client.call_tool("get_document", {"collection": COLLECTION, "uri": document_uri})
        seen["document"], seen["document_error"] = _text(fetched), fetched.is_error
        seen["target"] = target
    if http is not None:  # a caller's HTTP client stays the caller's to close
        await http.aclose()
    return seen


def _text(result: Any) -> str:
    return "\n".join(getattr(b, "text", "") for b in result.content)


def _check(hr: dict[str, Any], staff: dict[str, Any]) -> None:
    assert hr["tools"] == staff["tools"] == ["answer", "get_document", "list_collections", "search"]
    assert SECRET in hr["search"] and SECRET in hr["read"] and SECRET in hr["document"]
    assert COLLECTION in staff["collections"]
    assert SECRET not in staff["search"]
    assert staff["search"].count("document_uri") >= 3  # the rest of the handbook is found
    assert not any("salaries" in u for u in staff["resources"])
    assert len(staff["resources"]) == len(hr["resources"]) - 1
    assert staff["read"].startswith("refused") and SECRET not in staff["read"]
    assert staff["document_error"] and SECRET not in staff["document"]


def stdio_client(home: Path, key: str) -> Client:
    params = StdioServerParameters(command=sys.executable, args=["-m", "quarry", "mcp", "serve", "--key", key],
                                   env=_env(home))  # fmt: skip
    return Client(params, read_timeout_seconds=120)


def test_stdio_sessions_see_only_what_their_key_may(home: dict[str, Any]) -> None:
    hr = anyio.run(_explore, stdio_client(home["home"], home["hr"]))
    staff = anyio.run(_explore, stdio_client(home["home"], home["staff"]), hr["target"])
    _check(hr, staff)


@pytest.fixture(scope="module")
def http_server(home: dict[str, Any]) -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "quarry", "mcp", "serve", "--transport", "http", "--port",
                               str(port)], env=_env(home["home"]), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    yield url
    server.send_signal(signal.SIGINT)
    server.wait(timeout=30)


def http_client(url: str, key: str) -> tuple[Client, httpx2.AsyncClient]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=120)
    return Client(streamable_http_client(url, http_client=http), read_timeout_seconds=120), http


def test_http_sessions_need_a_key_and_see_only_what_it_may(home: dict[str, Any], http_server: str) -> None:
    client, http = http_client(http_server, home["hr"])
    hr = anyio.run(_explore, client, None, http)
    client, http = http_client(http_server, home["staff"])
    staff = anyio.run(_explore, client, hr["target"], http)
    _check(hr, staff)
    assert httpx.post(http_server, json={}).status_code == 401
    bad = httpx.post(http_server, json={}, headers={"Authorization": "Bearer qk_nope"})
    assert bad.status_code == 401


def test_an_agent_uses_a_real_mcp_servers_tool(home: dict[str, Any], tmp_path: Path) -> None:
    server = McpServerSettings(name="kb", command=[sys.executable, "-m", "quarry", "mcp", "serve",
                                                   "--key", home["staff"]],
                               env={"QUARRY_HOME": str(home["home"])}, risk="read")  # fmt: skip
    tools = load_mcp_tools([server])
    assert {t.name for t in tools} == {"kb__search", "kb__answer", "kb__get_document", "kb__list_collections"}
    search = next(t for t in tools if t.name == "kb__search")
    assert search.source == "mcp:kb" and search.parameters["required"] == ["query"]
    model = ScriptedChatModel([call("kb__search", query=7), call("kb__search", query="paid monthly", k=2),
                               answer("Salaries are paid monthly.")])  # fmt: skip
    runs = SQLiteRunStore(tmp_path / "agents.db")
    agent = Agent(model, tools, runs, settings=AgentSettings(), tracer=Tracer(), visibility=lambda run: None)
    events = list(agent.start("When is salary paid?", user="key-staff", principals=()))
    results = [e for e in events if isinstance(e, ToolResult)]
    assert not results[0].ok and "invalid_arguments" in results[0].text  # Quarry validated before calling out
    assert results[1].ok and "Pay schedule" in results[1].text and SECRET not in results[1].text
    assert events[-1].as_dict()["text"] == "Salaries are paid monthly."
    runs.close()


def test_agents_load_tools_from_an_mcp_server_over_http(home: dict[str, Any], http_server: str) -> None:
    server = McpServerSettings(name="kb", url=http_server, headers={"Authorization": f"Bearer {home['hr']}"},
                               risk="external")  # fmt: skip
    tools = {t.name: t for t in load_mcp_tools([server])}
    assert tools["kb__search"].risk == "external"
    found = tools["kb__search"].invoke({"query": LEAK_QUERY, "k": 3}, ToolContext())
    assert SECRET in json.dumps(found)  # this key holds group:hr
    refused = McpServerSettings(name="kb", url=http_server, headers={"Authorization": "Bearer qk_wrong"})
    with pytest.raises(ConfigError, match="could not list its tools"):
        load_mcp_tools([refused])
