"""Agents over HTTP: ``POST /v1/agents/runs`` (SSE), runs, approvals, memory.

Stream events: ``run``, ``thought``, ``tool_call``, ``tool_result``, then exactly one of ``answer``,
``approval`` (the run waits), ``stopped`` or ``failed``. Runs act as the calling key: its principals filter
every knowledge-base search, its collections bound them. Approvals are listed to, and decided by, the run's own
key, keys holding every principal the run acted with, or keys that see everything; deciding needs ``write``.
A decided run continues on the server (in the background); ``GET /v1/agents/runs/{id}`` follows it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from quarry.agents import Agent, AgentEvent
from quarry.agents.approvals import ApprovalNotFound, decide, expire, visible_approvals
from quarry.api.context import ApiContext, CallerDep, ContextDep
from quarry.api.errors import ApiError
from quarry.api.routes.answer import wants_stream
from quarry.api.security import Caller
from quarry.api.sse import SSE_HEADERS, SSE_RESPONSE, event, guarded, primed
from quarry.errors import ConfigError
from quarry.stores.agents import AgentRun
from quarry.types import Message

__all__ = ["router", "sweep"]

router = APIRouter(prefix="/v1", tags=["agents"])
log = logging.getLogger("quarry.api")
_BUILD = threading.Lock()


class RunRequest(BaseModel):
    task: str = Field(min_length=1, max_length=8000, description="what the agent should do")
    messages: list[dict[str, str]] = Field(default_factory=list, max_length=100,
                                           description="earlier turns: [{role: user|assistant, content}]")  # fmt: skip
    stream: bool = Field(True, description="server-sent events (default), or one JSON object at the end")


class Decision(BaseModel):
    note: str = Field("", max_length=2000)
    arguments: dict[str, Any] | None = Field(None, description="approve with these arguments instead")


def agent_of(context: ApiContext) -> Agent:
    """The server's agent, built on first use (its MCP servers are listed then)."""
    with _BUILD:
        agent: Agent | None = context.quarry.__dict__.get("_api_agent")
        if agent is None:
            from quarry.assembly.agents import build_agent

            agent = build_agent(context.quarry)
            context.quarry.__dict__["_api_agent"] = agent
        return agent


def _user(caller: Caller) -> str:
    return f"key:{caller.key.id}"


def _principals(caller: Caller) -> tuple[str, ...]:
    return tuple(caller.key.principals)


@router.post("/agents/runs", responses=SSE_RESPONSE)
def start_run(body: RunRequest, request: Request, caller: CallerDep, context: ContextDep) -> Any:
    """Run an agent on ``task`` as this key; streams its steps (or returns the final state)."""
    caller.require("read")
    history = [Message("assistant" if m.get("role") == "assistant" else "user", m.get("content", ""))
               for m in body.messages]  # fmt: skip
    events = agent_of(context).start(body.task, user=_user(caller), principals=_principals(caller),
                                     sees_all=caller.sees_everything, collections=tuple(caller.key.collections),
                                     history=history)  # fmt: skip
    if wants_stream(request, body.stream):
        lines = guarded(_sse(primed(iter(events))), lambda error: event(error, "error"))
        return StreamingResponse(lines, media_type="text/event-stream", headers=SSE_HEADERS)
    collected = [e.as_dict() for e in events]
    return {"run_id": collected[0]["run_id"], "final": collected[-1], "events": collected}


def _sse(events: Iterator[AgentEvent]) -> Iterator[str]:
    for item in events:
        yield event(json.loads(json.dumps(item.as_dict(), default=str)), item.type)


def _run_out(run: AgentRun, *, full: bool) -> dict[str, Any]:
    out = {"id": run.id, "task": run.task, "status": run.status, "answer": run.answer, "reason": run.reason,
           "spent": dict(run.spent), "created_at": run.created_at, "updated_at": run.updated_at}  # fmt: skip
    if full:
        out["messages"] = [dict(m) for m in run.messages if m.get("role") != "system"]
    return out


def _owned_run(context: ApiContext, caller: Caller, run_id: str) -> AgentRun:
    run = context.quarry.run_store.get(run_id)
    if run is None or not (run.user == _user(caller) or caller.operator):
        raise ApiError(404, "not_found", f"no run {run_id!r} of this key")
    return run


@router.get("/agents/runs")
def list_runs(caller: CallerDep, context: ContextDep, status: str | None = None, limit: int = 50) -> Any:
    """This key's runs, newest first (an operator key: everyone's)."""
    caller.require("read")
    user = None if caller.operator else _user(caller)
    runs = context.quarry.run_store.runs(user=user, status=status, limit=max(1, min(limit, 500)))
    return {"runs": [_run_out(r, full=False) for r in runs]}


@router.get("/agents/runs/{run_id}")
def get_run(run_id: str, caller: CallerDep, context: ContextDep) -> Any:
    """One run: its status, answer, what it spent and its conversation (tool calls and results)."""
    caller.require("read")
    run = _owned_run(context, caller, run_id)
    pending = [asdict(a) for a in context.quarry.run_store.approvals(run_id=run.id, status="pending")]
    return {**_run_out(run, full=True), "pending_approvals": pending}


@router.get("/approvals")
def list_approvals(caller: CallerDep, context: ContextDep, status: str = "pending", limit: int = 100) -> Any:
    """Approvals this key may decide (expired ones escalate first)."""
    caller.require("read")
    sweep(context)
    principals = ("*",) if caller.sees_everything else _principals(caller)
    found = visible_approvals(context.quarry.run_store, _user(caller), principals,
                              status=None if status == "all" else status, limit=max(1, min(limit, 1000)))  # fmt: skip
    return {"approvals": [asdict(a) for a in found]}


def _decide(approval_id: str, body: Decision, caller: Caller, context: ApiContext, *, approve: bool) -> Any:
    caller.require("write")
    principals = ("*",) if caller.sees_everything else _principals(caller)
    arguments = json.dumps(body.arguments) if body.arguments is not None else None
    try:
        decided = decide(context.quarry.run_store, approval_id, approve=approve, user=_user(caller),
                         principals=principals, note=body.note, arguments=arguments)  # fmt: skip
    except ApprovalNotFound:
        raise ApiError(404, "not_found", f"no approval {approval_id!r} this key may decide") from None
    except ConfigError as exc:
        raise ApiError(409, "conflict", exc.message) from None
    _resume_in_background(context, decided.run_id)
    return {"approval": asdict(decided), "run_id": decided.run_id, "run": f"/v1/agents/runs/{decided.run_id}"}


@router.post("/approvals/{approval_id}/approve", status_code=202)
def approve(approval_id: str, body: Decision, caller: CallerDep, context: ContextDep) -> Any:
    """Approve a waiting tool call (optionally with edited ``arguments``); the run continues on the server."""
    return _decide(approval_id, body, caller, context, approve=True)


@router.post("/approvals/{approval_id}/reject", status_code=202)
def reject(approval_id: str, body: Decision, caller: CallerDep, context: ContextDep) -> Any:
    """Reject a waiting tool call; the run continues without it (the model is told ``note``)."""
    if body.arguments is not None:
        raise ApiError(400, "invalid_request", "edited arguments go with an approval, not a rejection")
    return _decide(approval_id, body, caller, context, approve=False)


def _resume_in_background(context: ApiContext, run_id: str) -> None:
    def drive() -> None:
        try:
            for _ in agent_of(context).resume(run_id):
                pass
        except Exception:  # the run records its own failure; a claim lost to another replica is not one
            log.exception("resuming agent run %s failed", run_id)

    threading.Thread(target=drive, name=f"agent-resume-{run_id}", daemon=True).start()


def sweep(context: ApiContext) -> None:
    """Escalate expired approvals; runs whose approval expired into a rejection continue."""
    for expired in expire(context.quarry.run_store, context.settings.agents):
        if expired.status == "expired":
            _resume_in_background(context, expired.run_id)


@router.get("/memory")
def list_memory(caller: CallerDep, context: ContextDep) -> Any:
    """The facts agents stored for this key."""
    caller.require("read")
    return {"memory": [asdict(m) for m in context.quarry.memory_store.items(_user(caller))]}


@router.delete("/memory/{item_id}")
def forget(item_id: str, caller: CallerDep, context: ContextDep) -> Any:
    """Delete one stored fact of this key's."""
    caller.require("read")
    if not context.quarry.memory_store.forget(_user(caller), item_id):
        raise ApiError(404, "not_found", f"no stored fact {item_id!r} of this key")
    return {"deleted": item_id}
