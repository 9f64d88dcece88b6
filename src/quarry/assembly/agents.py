"""Agents wired from the settings: the tools ``[agents]`` offers, the model, the run and memory stores.

Built-in tools appear only where they can work: ``sql_query`` with ``[agents.sql] url``, ``http_get`` with
``[agents] http_allow_hosts``. Your tools are named by import path (``package.module:function``: a function made
with ``@quarry.agents.tool``, or a plain typed function, which gets the default risk ``read``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from quarry.agents import Agent, Executor, Memory, Tool, tool
from quarry.agents.builtin import answer_tool, calculator, search_tool
from quarry.agents.http_tool import http_tool
from quarry.agents.mcp_tools import load_mcp_tools
from quarry.errors import ConfigError
from quarry.pipeline.access import ALL, visibility_filter
from quarry.stores.agents import AgentRun

if TYPE_CHECKING:
    from quarry.assembly import Quarry

__all__ = ["build_agent", "load_tool", "run_visibility"]

BUILTIN = ("search_knowledge_base", "answer_from_knowledge_base", "calculator", "remember", "sql_query", "http_get")


def run_visibility(quarry: Quarry) -> Callable[[AgentRun], Any]:
    """The filter a run's searches carry: its owner's principals, as the REST API would apply them."""
    unlabelled = quarry.settings.access.unlabelled_public

    def visibility(run: AgentRun) -> Any:
        principals = (*run.principals, ALL) if run.sees_all else run.principals
        return visibility_filter(principals, unlabelled_public=unlabelled)

    return visibility


def load_tool(path: str) -> Tool:
    """The tool at ``package.module:name``."""
    module_name, _, name = path.partition(":")
    if not module_name or not name:
        raise ConfigError(f"a tool is named 'package.module:function', not {path!r}", key="agents.tools")
    try:
        found = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load tool {path!r}: {exc}", key="agents.tools",
                          hint="is the module on PYTHONPATH, and the name right?") from None  # fmt: skip
    if isinstance(found, Tool):
        return found
    if callable(found):
        return tool(found)
    raise ConfigError(f"{path!r} is neither a tool nor a function", key="agents.tools")


def _builtin(quarry: Quarry, name: str, memory: Memory) -> Tool | None:
    settings = quarry.settings.agents
    if name == "search_knowledge_base":
        return search_tool(quarry.searcher, settings.collection)
    if name == "answer_from_knowledge_base":
        return answer_tool(lambda: quarry.answerer, settings.collection)
    if name == "calculator":
        return calculator
    if name == "remember":
        return memory.tool()
    if name == "sql_query":
        return quarry.sql_reader.tool() if settings.sql.url else None
    if name == "http_get":
        return http_tool(settings) if settings.http_allow_hosts else None
    raise ConfigError(f"no built-in tool {name!r}", key="agents.builtin_tools", hint=f"built-ins: {', '.join(BUILTIN)}")


def build_agent(quarry: Quarry, *, extra_tools: tuple[Tool, ...] = ()) -> Agent:
    settings = quarry.settings.agents
    memory = Memory(quarry.memory_store, lambda: quarry.embedder,
                    k=settings.memory_k, min_score=settings.memory_min_score)  # fmt: skip
    tools = [t for t in (_builtin(quarry, name, memory) for name in settings.builtin_tools) if t is not None]
    tools += [load_tool(path) for path in settings.tools]
    tools += load_mcp_tools(settings.mcp_servers)
    tools += extra_tools
    model = quarry.chat_model_named(settings.model) if settings.model else quarry.chat_model
    return Agent(model, tools, quarry.run_store, settings=settings, tracer=quarry.tracer,
                 visibility=run_visibility(quarry), memory=memory,
                 executor=Executor(settings, quarry.guardrails))  # fmt: skip
