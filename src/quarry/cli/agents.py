"""``quarry agent run``, ``quarry approvals list|approve|reject`` and ``quarry memory list|forget``.

Who the command acts as: with ``--key`` (or ``QUARRY_API_KEY``) the API key's identity — its principals filter
every knowledge-base search, exactly as over HTTP; without one, the local operator (``local``, sees
everything), who owns the files anyway.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from quarry.cli.common import JsonOpt, console, system

if TYPE_CHECKING:
    from quarry.agents import AgentEvent
    from quarry.assembly import Quarry

__all__ = ["agent_app", "approvals_app", "memory_app"]

agent_app = typer.Typer(rich_markup_mode=None, help="Tool-using agents.", no_args_is_help=True)
approvals_app = typer.Typer(rich_markup_mode=None, help="Agent tool calls waiting for a human.",
                            no_args_is_help=True)  # fmt: skip
memory_app = typer.Typer(rich_markup_mode=None, help="What agents remember for you.", no_args_is_help=True)

KeyOpt = Annotated[str | None, typer.Option("--key", envvar="QUARRY_API_KEY", help="act as this API key")]
LOCAL = "local"


class Identity:
    def __init__(self, user: str, principals: tuple[str, ...], collections: tuple[str, ...]) -> None:
        self.user, self.principals, self.collections = user, principals, collections

    @property
    def sees_all(self) -> bool:
        return "*" in self.principals


def identity(quarry: Quarry, token: str | None) -> Identity:
    from quarry.errors import ConfigError

    if not token:
        return Identity(LOCAL, ("*",), ())
    key = quarry.key_store.verify(token)
    if key is None:
        raise ConfigError("the API key is not valid (unknown or revoked)", key="--key",
                          hint="quarry keys list shows the keys; quarry keys create makes one")  # fmt: skip
    return Identity(f"key:{key.id}", tuple(key.principals), tuple(key.collections))


def print_events(events: Iterable[AgentEvent]) -> str:
    """Print a run's events as they come; the run's final state (answer, waiting, stopped, failed)."""
    from quarry.agents import (
        Answered,
        ApprovalRequested,
        Failed,
        RunStarted,
        Stopped,
        Thought,
        ToolCalled,
        ToolResult,
    )

    state = "running"
    for event in events:
        if isinstance(event, RunStarted):
            verb = "resumed" if event.resumed else "started"
            console.print(f"[dim]run {event.run_id} {verb}[/]", highlight=False)
            for fact in event.recalled:
                console.print(f"[dim]  recalled: {fact}[/]", highlight=False)
        elif isinstance(event, Thought):
            console.print(f"[italic]{event.text}[/]", highlight=False)
        elif isinstance(event, ToolCalled):
            console.print(f"[cyan]→ {event.tool}[/] {event.arguments}", highlight=False)
        elif isinstance(event, ToolResult):
            mark = "[green]✓[/]" if event.ok else "[red]✗[/]"
            console.print(f"  {mark} {event.text[:300]}", highlight=False)
        elif isinstance(event, ApprovalRequested):
            console.print(f"[yellow]waiting for approval[/] {event.approval_id}: {event.tool} {event.arguments} "
                          f"(risk {event.risk})\n  decide: quarry approvals approve|reject {event.approval_id}",
                          highlight=False)  # fmt: skip
            state = "waiting"
        elif isinstance(event, Answered):
            console.print(f"\n{event.text}\n[dim]{_spent(event.spent)}[/]", highlight=False)
            state = "done"
        elif isinstance(event, Stopped):
            console.print(f"[red]stopped[/] ({event.kind}): {event.reason}\n[dim]{_spent(event.spent)}[/]",
                          highlight=False)  # fmt: skip
            state = "stopped"
        elif isinstance(event, Failed):
            console.print(f"[red]failed:[/] {event.reason}", highlight=False)
            state = "failed"
    return state


def _spent(spent: dict[str, Any]) -> str:
    calls = ", ".join(f"{k}×{v}" for k, v in spent.get("calls", {}).items()) or "no tools"
    return (f"{spent.get('steps', 0)} steps · {spent.get('tokens', 0)} tokens · ${spent.get('cost_usd', 0):.4f} · "
            f"{spent.get('seconds', 0):.1f} s · {calls}")  # fmt: skip


@agent_app.command("run")
def run(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="what the agent should do")],
    key: KeyOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the events as JSON lines")] = False,
) -> None:
    """Run an agent on TASK with the configured tools; exits 3 when it waits for approval, 1 when it stops."""
    from quarry.assembly.agents import build_agent

    quarry = system(ctx)
    who = identity(quarry, key)
    agent = build_agent(quarry)
    events = agent.start(task, user=who.user, principals=who.principals, sees_all=who.sees_all,
                         collections=who.collections)  # fmt: skip
    state = _json_events(events) if as_json else print_events(events)
    _exit(state)


def _json_events(events: Iterable[AgentEvent]) -> str:
    state = "running"
    for event in events:
        print(json.dumps(event.as_dict(), default=str), flush=True)
        state = {"answer": "done", "approval": "waiting", "stopped": "stopped", "failed": "failed"}.get(
            event.type, state
        )
    return state


def _exit(state: str) -> None:
    codes = {"done": 0, "waiting": 3, "stopped": 1, "failed": 1}
    if codes.get(state, 0):
        raise typer.Exit(codes[state])


@approvals_app.command("list")
def list_approvals(
    ctx: typer.Context,
    key: KeyOpt = None,
    status: Annotated[str, typer.Option(help="pending, approved, rejected, expired or all")] = "pending",
    as_json: JsonOpt = False,
) -> None:
    """Approvals you may decide (expired ones escalate first, as [agents] on_timeout says)."""
    from rich.table import Table

    from quarry.agents.approvals import expire, visible_approvals

    quarry = system(ctx)
    who = identity(quarry, key)
    for expired in expire(quarry.run_store, quarry.settings.agents):
        console.print(f"[yellow]approval {expired.id} timed out[/] ({quarry.settings.agents.on_timeout})")
        if quarry.settings.agents.on_timeout == "reject":
            _resume(quarry, expired.run_id)
    found = visible_approvals(quarry.run_store, who.user, who.principals, status=None if status == "all" else status)
    if as_json:
        print(json.dumps([_as_dict(a) for a in found], indent=2))
        return
    table = Table("id", "tool", "arguments", "risk", "run", "asked by", "status", title="Approvals")
    for a in found:
        table.add_row(a.id, a.tool, a.arguments[:60], a.risk, a.run_id, a.user, a.status)
    console.print(table)


def _as_dict(value: Any) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(value)


def _decide(ctx: typer.Context, approval_id: str, key: str | None, *, approve: bool, note: str,
            arguments: str | None) -> None:  # fmt: skip
    from quarry.agents.approvals import decide

    quarry = system(ctx)
    who = identity(quarry, key)
    decided = decide(quarry.run_store, approval_id, approve=approve, user=who.user, principals=who.principals,
                     note=note, arguments=arguments)  # fmt: skip
    console.print(f"[green]{decided.status}[/] {decided.tool} {decided.arguments} (by {decided.decided_by})",
                  highlight=False)  # fmt: skip
    _exit(_resume(quarry, decided.run_id))


def _resume(quarry: Quarry, run_id: str) -> str:
    from quarry.assembly.agents import build_agent

    return print_events(build_agent(quarry).resume(run_id))


@approvals_app.command("approve")
def approve(
    ctx: typer.Context,
    approval_id: Annotated[str, typer.Argument(help="the approval's id (quarry approvals list)")],
    key: KeyOpt = None,
    arguments: Annotated[str | None, typer.Option("--args", help="run it with these JSON arguments instead")] = None,
    note: Annotated[str, typer.Option(help="why")] = "",
) -> None:
    """Approve a waiting tool call (optionally with edited arguments); the run then continues here."""
    _decide(ctx, approval_id, key, approve=True, note=note, arguments=arguments)


@approvals_app.command("reject")
def reject(
    ctx: typer.Context,
    approval_id: Annotated[str, typer.Argument(help="the approval's id (quarry approvals list)")],
    key: KeyOpt = None,
    note: Annotated[str, typer.Option(help="why (the model is told)")] = "",
) -> None:
    """Reject a waiting tool call; the run continues here without it (the model is told why)."""
    _decide(ctx, approval_id, key, approve=False, note=note, arguments=None)


@memory_app.command("list")
def list_memory(ctx: typer.Context, key: KeyOpt = None, as_json: JsonOpt = False) -> None:
    """The facts agents stored for you."""
    from rich.table import Table

    quarry = system(ctx)
    items = quarry.memory_store.items(identity(quarry, key).user)
    if as_json:
        print(json.dumps([_as_dict(m) for m in items], indent=2))
        return
    table = Table("id", "fact", "stored in run", title="Memory")
    for m in items:
        table.add_row(m.id, m.text, m.run_id)
    console.print(table)


@memory_app.command("forget")
def forget(
    ctx: typer.Context,
    item_id: Annotated[str | None, typer.Argument(help="the fact's id (quarry memory list)")] = None,
    key: KeyOpt = None,
    everything: Annotated[bool, typer.Option("--all", help="forget every fact stored for you")] = False,
) -> None:
    """Delete one stored fact, or all of them with --all."""
    from quarry.errors import ConfigError

    if (item_id is None) == (not everything):
        raise ConfigError("name one fact's id, or pass --all", key="memory forget")
    quarry = system(ctx)
    removed = quarry.memory_store.forget(identity(quarry, key).user, item_id)
    if item_id is not None and not removed:
        raise ConfigError(f"no stored fact {item_id!r} of yours", key="id", hint="quarry memory list shows them")
    console.print(f"[green]forgot[/] {removed} fact(s)")
