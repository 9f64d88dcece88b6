"""``quarry guards list|check``: the configured guardrails, and what they say about a text."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from quarry.cli.common import CollectionOpt, JsonOpt, console, system
from quarry.errors import ConfigError

guards_app = typer.Typer(
    rich_markup_mode=None, help="Guardrails on questions, retrieved passages and answers.", no_args_is_help=True
)


@guards_app.command("list")
def list_guards(ctx: typer.Context, collection: CollectionOpt = "", as_json: JsonOpt = False) -> None:
    """Every guard Quarry knows: whether it runs (for a collection, with -c), where, and what it does."""
    from rich.table import Table

    from quarry.guardrails import GUARD_DESCRIPTIONS
    from quarry.settings.guards import GUARD_NAMES

    guards = system(ctx).guardrails.for_collection(collection) if collection else system(ctx).guardrails
    settings = guards.settings
    rows = [
        {"guard": name, "enabled": name in settings.guards, "stages": list(guards.guard(name).stages)
         if name != "pii" else ["input", "retrieval", "output"], "action": settings.actions.get(name, "flag"),
         "what": GUARD_DESCRIPTIONS[name]}
        for name in GUARD_NAMES
    ]  # fmt: skip
    if as_json:
        print(json.dumps({"guards": rows, "retrieval": settings.retrieval}, indent=2))
        return
    table = Table("guard", "on", "stages", "action when it fires", "what it catches", title="guardrails")
    for row in rows:
        table.add_row(str(row["guard"]), "yes" if row["enabled"] else "no", ", ".join(row["stages"]),  # type: ignore[arg-type]
                      str(row["action"]), str(row["what"]))  # fmt: skip
    console.print(table)
    console.print(f"flagged passages at answer time: {settings.retrieval}", style="dim")


@guards_app.command("check")
def check(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="the text to check")],
    stage: Annotated[str, typer.Option(help="input, retrieval or output")] = "input",
    collection: CollectionOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Run the enabled guards of a stage on a text and show every verdict."""
    from rich.table import Table

    from quarry.guardrails import STAGES, GuardContext

    if stage not in STAGES:
        raise ConfigError(f"unknown stage {stage!r}", key="stage", hint=f"use one of {', '.join(STAGES)}")
    guards = system(ctx).guardrails.for_collection(collection)
    outcome = guards.check(stage, text, GuardContext(stage, collection))
    if as_json:
        verdicts = [
            {"guard": v.guard, "fired": v.triggered, "score": round(v.score, 4), "action": v.action, "reason": v.reason}
            for v in outcome.verdicts
        ]
        blocked = outcome.blocked.guard if outcome.blocked is not None else None
        print(json.dumps({"stage": stage, "blocked": blocked, "text": outcome.text, "verdicts": verdicts}, indent=2))
        return
    table = Table("guard", "fired", "score", "action", "reason")
    for v in outcome.verdicts:
        table.add_row(v.guard, "yes" if v.triggered else "no", f"{v.score:.3f}", v.action, v.reason)
    console.print(table)
    if outcome.blocked is not None:
        console.print(f"[red]blocked[/] by {outcome.blocked.guard}: {outcome.blocked.reason}")
    elif outcome.text != text:
        console.print(f"passed on as: {outcome.text}")
