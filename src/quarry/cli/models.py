"""``quarry models list|show|report|promote|rollback|gc``: the model registry."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer

from quarry.cli.common import JsonOpt, console, err_console, system

__all__ = ["models_app"]

models_app = typer.Typer(
    rich_markup_mode=None, no_args_is_help=True,
    help="Registered embedders, chat models and adapters: lineage, evaluations, promotion and rollback.",
)  # fmt: skip


@models_app.command("list")
def list_models(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Every entry with its status and evaluation means, and every prompt version (from the prompt registry)."""
    from rich.table import Table

    from quarry.assembly.tuning import registry_listing

    rows = registry_listing(system(ctx))
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="Models")
    table.add_column("id", no_wrap=True)
    for name in ("kind", "status", "model", "evaluations"):
        table.add_column(name, overflow="fold")
    for row in rows:
        evals = ", ".join(f"{k} {v:.4f}" for k, v in row["evaluations"].items()) or "-"
        table.add_row(row["id"], row["kind"], row["status"], row["model_id"], evals)
    console.print(table)


@models_app.command("show")
def show(
    ctx: typer.Context, entry_id: Annotated[str, typer.Argument(help="<target>@v<n>")], as_json: JsonOpt = False
) -> None:
    """One entry: lineage, evaluations (means), index, and its target's move history."""
    from quarry.assembly.tuning import model_registry

    registry = model_registry(system(ctx))
    entry = registry.get(entry_id)
    data = dataclasses.asdict(entry) | {"id": entry.id}
    data["evaluations"] = {k: {x: y for x, y in v.items() if x != "per_query"} | {"questions": len(v["per_query"])}
                           for k, v in entry.evaluations.items()}  # fmt: skip
    data["moves"] = [dataclasses.asdict(m) for m in registry.models.moves(entry.target)]
    if as_json:
        print(json.dumps(data, indent=2, default=str))
        return
    console.print_json(json.dumps(data, default=str))


@models_app.command("promote")
def promote(
    ctx: typer.Context,
    entry_id: Annotated[str, typer.Argument(help="the candidate, <target>@v<n>")],
    eval_set: Annotated[
        str | None, typer.Option("--eval-set", help="evaluation to gate on (default: last shared)")
    ] = None,
    force: Annotated[bool, typer.Option(help="promote even if not significantly better (recorded)")] = False,
    note: Annotated[str, typer.Option(help="why, kept in the history")] = "",
) -> None:
    """Make a candidate production if it beats the current one on a paired test (embedders: swap its index in)."""
    from quarry.assembly.tuning import model_registry
    from quarry.tuning.registry import PromotionRefused

    registry = model_registry(system(ctx))
    try:
        move, gate = registry.promote(entry_id, eval_set=eval_set, force=force, by="cli", note=note)
    except PromotionRefused as exc:
        err_console.print(f"[red]refused:[/] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    console.print(f"{move.entry} is production of {move.target} (was {move.previous or 'nothing'})"
                  + (" [yellow](forced)[/]" if move.forced else ""))  # fmt: skip
    if gate is not None:
        console.print(gate.describe(), highlight=False)


@models_app.command("rollback")
def rollback(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="embedder:<collection> or chat")],
    note: Annotated[str, typer.Option(help="why, kept in the history")] = "",
) -> None:
    """Serve the previous production entry again (embedders: swap the kept index back; no re-training)."""
    from quarry.assembly.tuning import model_registry

    move = model_registry(system(ctx)).rollback(target, by="cli", note=note)
    console.print(f"{move.entry} is production of {move.target} again (was {move.previous})")


@models_app.command("gc")
def gc(ctx: typer.Context) -> None:
    """Delete the kept indexes that can no longer be rolled back to (the last previous one is kept)."""
    from quarry.assembly.tuning import model_registry

    dropped = model_registry(system(ctx)).gc()
    console.print(f"dropped {len(dropped)} index(es): {', '.join(dropped) or '-'}")


@models_app.command("report")
def report(
    ctx: typer.Context,
    entry_id: Annotated[str, typer.Argument(help="<target>@v<n>")],
    out: Annotated[Path, typer.Option(help="write the HTML page here")],
) -> None:
    """A self-contained HTML page: lineage, the loss curve, evaluations against production, the history."""
    from quarry.assembly.tuning import model_registry
    from quarry.tuning.report import entry_report

    registry = model_registry(system(ctx))
    out.write_text(entry_report(registry, registry.get(entry_id)), encoding="utf-8")
    console.print(f"wrote {out}")
