"""Rows of the agent tables, shared by every engine's adapters: a run's JSON body beside its indexed columns,
and how rows become :class:`AgentRun` / :class:`Approval` / :class:`MemoryItem` values again."""

from __future__ import annotations

import json
from typing import cast

from quarry.stores.agents import AgentRun, Approval, ApprovalStatus, MemoryItem, RunStatus
from quarry.stores.ops_rows import Row

__all__ = ["approval_of", "memory_of", "run_body", "run_of"]


def run_body(run: AgentRun) -> str:
    return json.dumps({
        "principals": list(run.principals), "sees_all": run.sees_all, "collections": list(run.collections),
        "messages": [dict(m) for m in run.messages], "spent": dict(run.spent), "answer": run.answer,
        "reason": run.reason,
    })  # fmt: skip


def run_of(row: Row) -> AgentRun:
    body = json.loads(row["body"])
    return AgentRun(
        id=row["id"], task=row["task"], user=row["user_id"], principals=tuple(body["principals"]),
        status=cast(RunStatus, row["status"]), sees_all=bool(body["sees_all"]),
        collections=tuple(body["collections"]), messages=tuple(body["messages"]), spent=body["spent"],
        answer=body["answer"], reason=body["reason"], created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]),
    )  # fmt: skip


def approval_of(row: Row) -> Approval:
    return Approval(
        id=row["id"], run_id=row["run_id"], call_id=row["call_id"], tool=row["tool"], arguments=row["arguments"],
        risk=row["risk"], user=row["user_id"], principals=tuple(json.loads(row["principals"])),
        context=row["context"], status=cast(ApprovalStatus, row["status"]), decided_by=row["decided_by"],
        decided_at=row["decided_at"], note=row["note"], edited=bool(row["edited"]),
        created_at=float(row["created_at"]), expires_at=row["expires_at"],
    )  # fmt: skip


def memory_of(row: Row) -> MemoryItem:
    return MemoryItem(row["id"], row["user_id"], row["text"], row["model"], float(row["created_at"]), row["run_id"])
