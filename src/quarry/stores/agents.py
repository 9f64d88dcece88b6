"""Agent state: runs with their approvals, and each user's long-term memory — one small protocol each.

A run is durable: its conversation so far, what it has spent and where it stands are saved after every step,
so a run waiting for a human survives a restart. Approvals move a run on exactly once: :meth:`RunStore.decide`
changes a pending approval and its run in one transaction, and :meth:`RunStore.claim` hands a decided run to one
caller only. The SQLite adapters live in :mod:`quarry.stores.sqlite.agents`, the PostgreSQL ones in
:mod:`quarry.stores.postgres.agents`; :mod:`quarry.testing.agent_conformance` is the suite both pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = [
    "AgentRun",
    "Approval",
    "ApprovalStatus",
    "MemoryItem",
    "MemoryStore",
    "RunStatus",
    "RunStore",
]

RunStatus = Literal["running", "waiting", "ready", "done", "stopped", "failed"]
ApprovalStatus = Literal["pending", "approved", "rejected", "expired"]


@dataclass(frozen=True, slots=True)
class AgentRun:
    """One agent run. ``messages`` is the conversation as JSON-ready dicts (role, content, tool calls);
    ``spent`` what it used so far (steps, tokens, cost, seconds, calls per tool); ``principals`` and
    ``sees_all`` the caller's access, so a run resumed by someone else still searches as its owner."""

    id: str
    task: str
    user: str
    principals: tuple[str, ...]
    status: RunStatus = "running"
    sees_all: bool = False
    collections: tuple[str, ...] = ()  # collections the caller's key may use; () = any
    messages: tuple[Mapping[str, Any], ...] = ()
    spent: Mapping[str, Any] = field(default_factory=dict)
    answer: str = ""
    reason: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Approval:
    """A tool call waiting for (or given) a human decision. ``arguments`` is the JSON object as text;
    ``edited`` is set when the approver changed them; ``context`` shows what the run had done so far."""

    id: str
    run_id: str
    call_id: str
    tool: str
    arguments: str
    risk: str
    user: str
    principals: tuple[str, ...]
    context: str = ""
    status: ApprovalStatus = "pending"
    decided_by: str = ""
    decided_at: float | None = None
    note: str = ""
    edited: bool = False
    created_at: float = 0.0
    expires_at: float | None = None


class RunStore(Protocol):
    def create(self, run: AgentRun) -> AgentRun:
        """Store a new run (timestamps set here)."""
        ...

    def save(self, run: AgentRun) -> AgentRun:
        """Replace a run's state (status, messages, spent, answer, reason); ``updated_at`` set here."""
        ...

    def get(self, run_id: str) -> AgentRun | None: ...

    def runs(self, *, user: str | None = None, status: str | None = None, limit: int = 100) -> list[AgentRun]:
        """Newest first, of one user and/or status."""
        ...

    def request(self, approval: Approval, run: AgentRun) -> Approval:
        """Save ``run`` as waiting and its pending ``approval`` together (one transaction)."""
        ...

    def approval(self, approval_id: str) -> Approval | None: ...

    def approvals(self, *, status: str | None = None, run_id: str | None = None, limit: int = 100) -> list[Approval]:
        """Oldest first."""
        ...

    def decide(
        self, approval_id: str, status: ApprovalStatus, *, by: str, note: str = "", arguments: str | None = None
    ) -> Approval | None:
        """Decide a *pending* approval and mark its run ``ready`` in one transaction; ``None`` when it was not
        pending any more (someone decided first). ``arguments`` replaces the call's arguments (edit + approve)."""
        ...

    def claim(self, run_id: str) -> AgentRun | None:
        """Move a ``ready`` run to ``running`` and return it — to one caller only; ``None`` for everyone else."""
        ...

    def escalate(self, approval_id: str, note: str) -> bool:
        """Mark a pending approval escalated (its timeout no longer applies) — True for one caller only, so one
        process sends the notification."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class MemoryItem:
    """A fact an agent stored for ``user``; ``model`` is the embedder that made its vector."""

    id: str
    user: str
    text: str
    model: str
    created_at: float = 0.0
    run_id: str = ""


class MemoryStore(Protocol):
    def add(self, item: MemoryItem, vector: Sequence[float]) -> MemoryItem: ...

    def search(self, user: str, vector: Sequence[float], *, model: str, k: int = 3) -> list[tuple[MemoryItem, float]]:
        """The user's facts most similar to ``vector`` (cosine, best first), among those ``model`` embedded."""
        ...

    def items(self, user: str, *, limit: int = 1000) -> list[MemoryItem]:
        """Newest first."""
        ...

    def forget(self, user: str, item_id: str | None = None) -> int:
        """Delete one of the user's facts (or, with ``None``, all of them); how many were deleted."""
        ...

    def close(self) -> None: ...
