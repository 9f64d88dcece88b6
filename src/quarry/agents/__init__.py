"""Tool-using agents: typed tools, a budgeted loop, human approval that survives restarts, memory, MCP tools.

Built on Quarry's own LLM layer, retrieval, principals and tracing. :class:`Agent` runs a task as a stream of
:mod:`~quarry.agents.events`; :func:`tool` makes a typed Python function a tool.
"""

from quarry.agents.budget import Limits, Spend
from quarry.agents.events import (
    AgentEvent,
    Answered,
    ApprovalRequested,
    Failed,
    RunStarted,
    Stopped,
    Thought,
    ToolCalled,
    ToolResult,
)
from quarry.agents.execute import Executor
from quarry.agents.loop import DEFAULT_SYSTEM, Agent
from quarry.agents.memory import Memory
from quarry.agents.tools import RISKS, Risk, Tool, ToolArgumentError, ToolContext, from_json_schema, tool

__all__ = [
    "DEFAULT_SYSTEM",
    "RISKS",
    "Agent",
    "AgentEvent",
    "Answered",
    "ApprovalRequested",
    "Executor",
    "Failed",
    "Limits",
    "Memory",
    "Risk",
    "RunStarted",
    "Spend",
    "Stopped",
    "Thought",
    "Tool",
    "ToolArgumentError",
    "ToolCalled",
    "ToolContext",
    "ToolResult",
    "from_json_schema",
    "tool",
]
