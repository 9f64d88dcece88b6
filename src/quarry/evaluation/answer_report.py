"""Answer-evaluation reports: a Markdown summary for the terminal and CI logs, and a self-contained HTML page
(no scripts, no network: inline SVG) with per-metric bars and their 95% CIs, histograms of token F1 and latency,
the paired comparison against a baseline and the worst questions with what the model read and answered."""

from __future__ import annotations

import html
from collections.abc import Sequence

from quarry.evaluation.answer_runner import AnswerRun, ItemResult
from quarry.evaluation.report import Comparison, comparison_table, table
from quarry.evaluation.stats import ConfidenceInterval

__all__ = ["HEADLINE", "html_report", "markdown_report", "worst"]

HEADLINE = (
    "correct",
    "contains",
    "token_f1",
    "abstained_answerable",
    "abstained_unanswerable",
    "truncated",
    "citation_precision",
    "citation_recall",
    "quote_has_answer",
    "quote_valid",
    "context_recall_retrieved",
    "context_recall_packed",
    "supported_agreement",
    "supported_precision",
    "supported_recall",
)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _ci(ci: ConfidenceInterval) -> str:
    return f"{ci.mean:.3f} [{ci.low:.3f}, {ci.high:.3f}]"


def worst(run: AnswerRun, n: int = 10) -> list[ItemResult]:
    """Wrong answers first (unsupported-but-wrong before flagged ones), then by token F1."""
    wrong = [r for r in run.results if not r.metrics.get("correct")]
    return sorted(wrong, key=lambda r: (not r.outcome.supported, r.metrics.get("token_f1") or 0.0))[:n]


def markdown_report(run: AnswerRun, comparisons: Sequence[Comparison] = (), *, worst_n: int = 5) -> str:
    """The run's metrics with CIs, timing and cost, the comparison (if any) and the worst questions."""
    lines = [
        f"## {run.name} on {run.dataset}",
        "",
        f"{len(run.results)} questions ({sum(r.item.answerable for r in run.results)} answerable), "
        f"{run.cached} answers from the cache; model {run.config.get('model', '?')}.",
        "",
        _row(["metric", "mean [95% CI]", "n"]),
        "|---|---:|---:|",
    ]
    for metric in [*HEADLINE, *sorted(m for m in run.summary if m not in HEADLINE)]:
        ci = run.summary.get(metric)
        if ci is not None:
            lines.append(_row([metric, _ci(ci), str(len(run.scores(metric)))]))
    ttft = f"time to first token p50 {run.ttft.p50:.2f} s" if run.ttft.p50 else "no model call timed"
    lines += [
        "",
        f"Latency per answer p50 {run.latency.p50:.2f} s, p95 {run.latency.p95:.2f} s; {ttft}; "
        f"{run.prompt_tokens + run.completion_tokens:,} tokens, ${run.cost_usd:.4f}; run took {run.seconds:.0f} s.",
    ]
    if run.judge:
        lines += ["", "Judge: " + ", ".join(f"{k} {v}" for k, v in run.judge.items() if not isinstance(v, dict))]
    if comparisons:
        lines += ["", comparison_table(list(comparisons))]
    bad = worst(run, worst_n)
    if bad:
        lines += ["", "Worst questions:", ""]
        for r in bad:
            lines.append(
                f"- `{r.item.id}` {r.item.question} — answered {r.outcome.text[:160]!r}; "
                f"expected {list(r.item.answers) or 'an abstention'}"
            )
    return "\n".join(lines) + "\n"


def _bars(run: AnswerRun, baseline: AnswerRun | None) -> str:
    metrics = [m for m in HEADLINE if m in run.summary]
    width, row = 560, 22
    height = row * len(metrics) * (2 if baseline else 1) + 30
    parts = [f'<svg width="{width + 240}" height="{height}" role="img" aria-label="metrics with 95% CIs">']
    y = 10
    for metric in metrics:
        for label, source, colour in (("", run, "#3b6ea5"), ("baseline", baseline, "#b0b0b0")):
            if source is None or metric not in source.summary:
                continue
            ci = source.summary[metric]
            x0, x1, xm = 220 + ci.low * width, 220 + ci.high * width, 220 + ci.mean * width
            name = f"{metric} {label}".strip()
            parts += [
                f'<text x="0" y="{y + 14}" font-size="12">{html.escape(name)}</text>',
                f'<rect x="220" y="{y + 3}" width="{ci.mean * width:.1f}" height="14" fill="{colour}"/>',
                f'<line x1="{x0:.1f}" y1="{y + 10}" x2="{x1:.1f}" y2="{y + 10}" stroke="#000"/>',
                f'<text x="{xm + 6:.1f}" y="{y + 14}" font-size="11">{ci.mean:.3f}</text>',
            ]
            y += row
    parts.append("</svg>")
    return "".join(parts)


def _histogram(values: Sequence[float], title: str, bins: int = 10) -> str:
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - low) / span * bins))] += 1
    top = max(counts)
    bar = 36
    parts = [f'<figure><figcaption>{html.escape(title)}</figcaption><svg width="{bins * bar}" height="140">']
    for i, count in enumerate(counts):
        h = 110 * count / top
        parts.append(f'<rect x="{i * bar + 2}" y="{115 - h:.1f}" width="{bar - 4}" height="{h:.1f}" fill="#3b6ea5"/>')
        parts.append(f'<text x="{i * bar + 4}" y="132" font-size="10">{low + span * i / bins:.2g}</text>')
    parts.append("</svg></figure>")
    return "".join(parts)


def _question(r: ItemResult) -> str:
    context = "".join(f"<pre>{html.escape(p.text[:1200])}</pre>" for p in r.outcome.context) or "<p>(none)</p>"
    return (
        f"<details><summary><code>{html.escape(r.item.id)}</code> {html.escape(r.item.question)}</summary>"
        f"<p><b>Answer</b> ({'supported' if r.outcome.supported else 'not supported'}"
        f"{', abstained' if r.outcome.abstained else ''}): {html.escape(r.outcome.text)}</p>"
        f"<p><b>Expected</b>: {html.escape(', '.join(r.item.answers) or 'an abstention')}</p>"
        f"<p><b>What the model read</b></p>{context}</details>"
    )


def html_report(run: AnswerRun, comparisons: Sequence[Comparison] = (), baseline: AnswerRun | None = None) -> str:
    """A self-contained HTML page for ``run`` (see the module docstring)."""
    rows = [[m, _ci(run.summary[m]), str(len(run.scores(m)))] for m in HEADLINE if m in run.summary]
    summary = table(["metric", "mean [95% CI]", "n"], rows)
    f1 = [v for r in run.results if (v := r.metrics.get("token_f1")) is not None]
    latency = [r.outcome.seconds for r in run.results if not r.cached]
    compared = html.escape(comparison_table(list(comparisons))) if comparisons else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(run.name)} — answer evaluation</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em;max-width:70em}} pre{{white-space:pre-wrap;background:#f6f6f6;
padding:.5em}} figure{{display:inline-block;margin-right:2em}} details{{margin:.4em 0}}</style></head><body>
<h1>{html.escape(run.name)} on {html.escape(run.dataset)}</h1>
<p>{len(run.results)} questions; model {html.escape(str(run.config.get("model", "?")))}; latency p50
{run.latency.p50:.2f} s, p95 {run.latency.p95:.2f} s; first token p50 {run.ttft.p50:.2f} s;
cost ${run.cost_usd:.4f}.</p>
{_bars(run, baseline)}
<pre>{html.escape(summary)}</pre>
{f"<h2>Against the baseline</h2><pre>{compared}</pre>" if compared else ""}
{_histogram(f1, "token F1 (answerable questions)")}{_histogram(latency, "seconds per answer")}
<h2>Worst questions</h2>
{"".join(_question(r) for r in worst(run, 25))}
</body></html>
"""
