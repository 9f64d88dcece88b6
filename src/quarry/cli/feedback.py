"""``quarry feedback list|export``: what users said, and their rated questions as evaluation cases."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer

from quarry.cli.common import JsonOpt, console, system

__all__ = ["feedback_app"]

feedback_app = typer.Typer(rich_markup_mode=None, help="User feedback on answers.", no_args_is_help=True)


@feedback_app.command("list")
def list_feedback(
    ctx: typer.Context, limit: Annotated[int, typer.Option(help="newest N")] = 50, as_json: JsonOpt = False
) -> None:
    """The newest feedback: rating, score, comment, correction, and the trace it is about."""
    from rich.table import Table

    items = system(ctx).feedback_store.recent(limit)
    if as_json:
        print(json.dumps([dataclasses.asdict(f) for f in items], indent=2))
        return
    table = Table("trace", "rating", "score", "comment", "correction", title="Feedback")
    for f in items:
        score = "-" if f.score is None else f"{f.score:.2f}"
        table.add_row(f.trace_id[:12], f.rating or "-", score, f.comment[:60], f.correction[:60])
    console.print(table)


@feedback_app.command("export")
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="the QA JSONL to write")] = Path("feedback-qa.jsonl"),
    limit: Annotated[int, typer.Option(help="read the newest N feedback items")] = 10_000,
) -> None:
    """Rated answers as QA cases (corrections and accepted answers as references) for `quarry eval answers`."""
    from quarry.evaluation.feedback_export import feedback_cases

    quarry = system(ctx)
    result = feedback_cases(quarry.feedback_store.recent(limit), quarry.trace_store)
    out.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in result.cases), encoding="utf-8")
    console.print(f"[green]wrote[/] {len(result.cases)} case(s) to {out}; skipped {result.skipped} "
                  "(thumbs down without a correction, or the trace is gone)", highlight=False)  # fmt: skip
