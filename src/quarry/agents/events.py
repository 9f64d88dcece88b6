"""What a run reports as it goes: typed events the CLI prints and the API streams as SSE.

Every event has a ``type`` (its SSE event name) and :meth:`as_dict` (its JSON data). A run's events end with
exactly one of :class:`Answered`, :class:`ApprovalRequested` (the run waits), :class:`Stopped` (a limit) or
:class:`Failed`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

__all__ = [
    "AgentEvent",
    "Answered",
    "ApprovalRequested",
    "Failed",
    "RunStarted",
    "Stopped",
    "Thought",
    "ToolCalled",
    "ToolResult",
]


@dataclass(frozen=True, slots=True)
class _Event:
    type: ClassVar[str] = "event"

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, **asdict(self)}


@dataclass(frozen=True, slots=True)
class RunStarted(_Event):
    type: ClassVar[str] = "run"
    run_id: str
    task: str
    resumed: bool = False
    recalled: tuple[str, ...] = ()  # long-term memories brought into the run


@dataclass(frozen=True, slots=True)
class Thought(_Event):
    """Text the model wrote alongside its tool calls (its reasoning, when it shares it)."""

    type: ClassVar[str] = "thought"
    step: int
    text: str


@dataclass(frozen=True, slots=True)
class ToolCalled(_Event):
    type: ClassVar[str] = "tool_call"
    step: int
    call_id: str
    tool: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolResult(_Event):
    """``ok`` False: the call failed, its arguments did not validate, it timed out or was rejected — ``text``
    is what the model was told. ``flags`` name guards that fired on the result."""

    type: ClassVar[str] = "tool_result"
    step: int
    call_id: str
    tool: str
    ok: bool
    text: str
    chars: int
    seconds: float = 0.0
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ApprovalRequested(_Event):
    type: ClassVar[str] = "approval"
    run_id: str
    approval_id: str
    tool: str
    arguments: str
    risk: str


@dataclass(frozen=True, slots=True)
class Answered(_Event):
    type: ClassVar[str] = "answer"
    run_id: str
    text: str
    spent: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Stopped(_Event):
    """A limit ended the run: ``kind`` names it (steps, tokens, cost_usd, wall_s, calls:<tool>, loop)."""

    type: ClassVar[str] = "stopped"
    run_id: str
    kind: str
    reason: str
    spent: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Failed(_Event):
    type: ClassVar[str] = "failed"
    run_id: str
    reason: str


AgentEvent = RunStarted | Thought | ToolCalled | ToolResult | ApprovalRequested | Answered | Stopped | Failed
