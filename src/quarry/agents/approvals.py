"""Deciding approvals: who may, what a decision does, and what happens when nobody decides in time.

A caller may see and decide an approval when they own its run, or hold every principal the run acted with
(so nobody approves an action over documents they could not read themselves), or see everything (``*``).
A pending approval past its ``expires_at`` escalates by ``[agents] on_timeout``: ``reject`` decides it as
``expired`` (the run then continues and the model is told), ``webhook`` POSTs it to ``[agents] webhook_url``
once and leaves it pending for a human.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict

import httpx

from quarry.errors import ConfigError
from quarry.pipeline.access import ALL, PUBLIC
from quarry.settings import AgentSettings
from quarry.stores.agents import Approval, RunStore

__all__ = ["ApprovalNotFound", "decide", "expire", "may_decide", "visible_approvals"]


class ApprovalNotFound(ConfigError):
    """No such approval, or not one this caller may decide (the same error: no hint that it exists)."""


def may_decide(approval: Approval, user: str, principals: Sequence[str]) -> bool:
    if ALL in principals or approval.user == user:
        return True
    needed = {p for p in approval.principals if p != PUBLIC}
    return bool(needed) and needed <= set(principals)


def visible_approvals(runs: RunStore, user: str, principals: Sequence[str], *, status: str | None = "pending",
                      limit: int = 100) -> list[Approval]:  # fmt: skip
    found = runs.approvals(status=status, limit=10_000)
    return [a for a in found if may_decide(a, user, principals)][:limit]


def decide(runs: RunStore, approval_id: str, *, approve: bool, user: str, principals: Sequence[str],
           note: str = "", arguments: str | None = None) -> Approval:  # fmt: skip
    """Record a decision (``arguments``: edited JSON arguments, approvals only). Refused when the approval does not
    exist or is not this caller's to decide (the same message: no hint that it exists), or was decided already."""
    approval = runs.approval(approval_id)
    if approval is None or not may_decide(approval, user, principals):
        raise ApprovalNotFound(f"no approval {approval_id!r} you may decide", key="approval",
                               hint="quarry approvals list shows the pending ones")  # fmt: skip
    if arguments is not None:
        if not approve:
            raise ConfigError("edited arguments go with an approval, not a rejection", key="arguments")
        try:
            parsed = json.loads(arguments)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"the edited arguments are not JSON: {exc.msg}", key="arguments") from None
        if not isinstance(parsed, dict):
            raise ConfigError("the edited arguments must be a JSON object", key="arguments")
        arguments = json.dumps(parsed)
    decided = runs.decide(approval_id, "approved" if approve else "rejected", by=user, note=note,
                          arguments=arguments)  # fmt: skip
    if decided is None:
        current = runs.approval(approval_id)
        state = current.status if current else "gone"
        raise ConfigError(f"approval {approval_id} was already decided ({state})", key="approval")
    return decided


def expire(runs: RunStore, settings: AgentSettings, *, now: float | None = None) -> list[Approval]:
    """Escalate every pending approval past its time; the approvals this call escalated."""
    moment = time.time() if now is None else now
    escalated = []
    for approval in runs.approvals(status="pending", limit=10_000):
        if approval.expires_at is None or approval.expires_at > moment:
            continue
        if settings.on_timeout == "reject":
            decided = runs.decide(approval.id, "expired", by="timeout", note="nobody decided in time")
            if decided is not None:
                escalated.append(decided)
        elif runs.escalate(approval.id, f"escalated to {settings.webhook_url}"):
            _notify(settings.webhook_url, approval)
            escalated.append(approval)
    return escalated


def _notify(url: str | None, approval: Approval) -> None:
    if not url:
        return
    payload = {"event": "approval.expired", "approval": asdict(approval)}
    with contextlib.suppress(httpx.HTTPError):  # the approval stays pending and listed; only the nudge is lost
        httpx.post(url, json=payload, timeout=10.0)
