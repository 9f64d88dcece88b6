"""A self-contained HTML page for one registry entry: lineage, the training loss curve, and each evaluation next
to production's with the paired comparison a promotion would be decided on."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path

from quarry.stores.models import ModelEntry
from quarry.tuning.budget import StepLog
from quarry.tuning.registry import ModelRegistry, PromotionRefused

__all__ = ["entry_report", "loss_curve_svg", "training_losses"]

STYLE = ("body{font:14px system-ui,sans-serif;max-width:900px;margin:2em auto;color:#222}table{border-collapse:"
         "collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}code{background:#f4f4f4}")  # fmt: skip


def training_losses(entry: ModelEntry) -> list[float]:
    """The loss after every step, from ``training.json`` in the entry's folder (empty when there is none)."""
    path = Path(entry.artifact) / "training.json" if entry.artifact else None
    if path is None or not path.is_file():
        return []
    return [float(x) for x in json.loads(path.read_text()).get("losses", [])]


def loss_curve_svg(losses: Sequence[float], width: int = 640, height: int = 200) -> str:
    if len(losses) < 2:
        return "<p>(no loss curve: fewer than two steps)</p>"
    smooth = StepLog(list(losses)).smoothed(max(1, len(losses) // 20))
    top, low = max(losses), min(losses)
    span = (top - low) or 1.0

    def points(values: Sequence[float]) -> str:
        step = (width - 40) / (len(values) - 1)
        return " ".join(
            f"{30 + i * step:.1f},{10 + (top - v) / span * (height - 30):.1f}" for i, v in enumerate(values)
        )

    return (f'<svg width="{width}" height="{height}" role="img" aria-label="training loss per step">'
            f'<polyline fill="none" stroke="#bbb" points="{points(losses)}"/>'
            f'<polyline fill="none" stroke="#c33" stroke-width="2" points="{points(smooth)}"/>'
            f'<text x="2" y="14" font-size="11">{top:.3f}</text><text x="2" y="{height - 20}" font-size="11">'
            f'{low:.3f}</text><text x="{width // 2}" y="{height - 4}" font-size="11">step (1–{len(losses)})</text>'
            "</svg>")  # fmt: skip


def entry_report(registry: ModelRegistry, entry: ModelEntry) -> str:
    production = registry.production(entry.target)
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td><code>{html.escape(json.dumps(v, default=str))}</code>"
                   "</td></tr>" for k, v in entry.lineage.items())  # fmt: skip
    evals = []
    for name, result in entry.evaluations.items():
        theirs = production.evaluations.get(name) if production is not None and production.id != entry.id else None
        versus = ""
        if production is not None and theirs is not None:
            try:
                versus = html.escape(registry.gate(entry, production, name).describe())
            except PromotionRefused as exc:
                versus = html.escape(str(exc))
        evals.append(f"<tr><td>{html.escape(name)}</td><td>{html.escape(str(result.get('metric')))}</td>"
                     f"<td>{float(result.get('mean', 0.0)):.4f}</td><td>{len(result.get('per_query', {}))}</td>"
                     f"<td>{versus}</td></tr>")  # fmt: skip
    moves = "".join(f"<li>{html.escape(m.entry)} ← {html.escape(str(m.previous))}{' (forced)' if m.forced else ''}"
                    f"{' (rollback)' if m.rollback else ''}: {html.escape(m.note)}</li>"
                    for m in registry.models.moves(entry.target))  # fmt: skip
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(entry.id)}</title>"
            f"<style>{STYLE}</style><h1>{html.escape(entry.id)} <small>{entry.status}</small></h1>"
            f"<p>{html.escape(entry.kind)} <code>{html.escape(entry.model_id)}</code> from "
            f"<code>{html.escape(entry.base)}</code></p><h2>Lineage</h2><table>{rows}</table>"
            f"<h2>Training loss</h2>{loss_curve_svg(training_losses(entry))}"
            "<h2>Evaluations</h2><table><tr><th>set</th><th>metric</th><th>mean</th><th>questions</th>"
            f"<th>against production</th></tr>{''.join(evals)}</table><h2>History of {html.escape(entry.target)}</h2>"
            f"<ul>{moves}</ul></html>")  # fmt: skip
