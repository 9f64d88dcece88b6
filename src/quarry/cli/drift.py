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
    current: Annotated[int, typer.Option(min=10, help="the newest N search and answer traces")] = 500,
    reference: Annotated[int, typer.Option(min=10, help="the M traces before them")] = 2000,
    out: Annotated[Path, typer.Option(help="where to write the HTML report")] = Path("drift.html"),
    as_json: JsonOpt = False,
) -> None:
    """Embedding drift (mean distance, MMD test), PSI of scores and answer length, abstention, no-result and
    out-of-domain rates, new frequent terms; writes HTML with plots. Exit 1 when drift is detected."""
    from quarry.evaluation.drift import drift_report
    from quarry.evaluation.drift_html import drift_html

    quarry = system(ctx)
    traces = [t for t in quarry.trace_store.traces(limit=current + reference) if t.kind in ("search", "answer")]
    if len(traces) < 20:
        console.print(f"only {len(traces)} search/answer traces stored: too few to compare windows")
        return
    split = min(current, len(traces) // 2)
    result = drift_report(traces[split:], traces[:split], quarry.embedder.embed)
    out.write_text(drift_html(result), encoding="utf-8")
    if as_json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        verdict = "[red]drift detected[/]" if result.drifted else "[green]no drift[/]"
        console.print(f"{verdict}: {split} current vs {len(traces) - split} reference traces; MMD² {result.mmd2:.5f} "
                      f"(p={result.mmd_p:.3f}), PSI {', '.join(f'{k} {v:.2f}' for k, v in result.psi.items())}; "
                      f"report: {out}")  # fmt: skip
    if result.drifted:
        raise typer.Exit(1)
