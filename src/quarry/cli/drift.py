"""``quarry drift report``: has what users ask changed? Reference window vs current window of stored traces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from quarry.cli.common import JsonOpt, console, system

__all__ = ["drift_app"]

drift_app = typer.Typer(
    rich_markup_mode=None, help="Query and retrieval drift over stored traces.", no_args_is_help=True
)


@drift_app.command("report")
def report(
    ctx: typer.Context,
    current: Annotated[int, typer.Option(min=10, help="the newest N search and answer traces")] = 500,  # drift.CURRENT
    reference: Annotated[int, typer.Option(min=10, help="the M traces before them")] = 2000,  # drift.REFERENCE
    out: Annotated[Path, typer.Option(help="where to write the HTML report")] = Path("drift.html"),
    as_json: JsonOpt = False,
) -> None:
    """Embedding drift (mean distance, MMD test), PSI of scores and answer length, abstention, no-result and
    out-of-domain rates, new frequent terms; writes HTML with plots. Exit 1 when drift is detected."""
    from quarry.evaluation.drift import stored_drift
    from quarry.evaluation.drift_html import drift_html

    quarry = system(ctx)
    result = stored_drift(quarry.trace_store, quarry.embedder.embed, current=current, reference=reference)
    if result is None:
        console.print("fewer than 20 search/answer traces stored: too few to compare windows")
        return
    out.write_text(drift_html(result), encoding="utf-8")
    if as_json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        verdict = "[red]drift detected[/]" if result.drifted else "[green]no drift[/]"
        psi = ", ".join(f"{k} {v:.2f}" for k, v in result.psi.items())
        console.print(f"{verdict}: {result.current} current vs {result.reference} reference traces; "
                      f"MMD² {result.mmd2:.5f} (p={result.mmd_p:.3f}), PSI {psi}; report: {out}")  # fmt: skip
    if result.drifted:
        raise typer.Exit(1)
