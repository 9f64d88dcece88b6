"""Evaluation results: a report per system, paired comparisons, JSON output and Markdown tables."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from quarry.errors import ConfigError
from quarry.evaluation.metrics import PerQuery
from quarry.evaluation.stats import ConfidenceInterval, PairedTest

__all__ = ["Comparison", "EvalReport", "Latency", "QueryResult", "comparison_table", "markdown_table", "table"]

_LABELS = {"ndcg": "nDCG", "recall": "Recall", "precision": "P", "mrr": "MRR", "map": "MAP"}


def metric_label(metric: str) -> str:
    """``"ndcg@10"`` → ``"nDCG@10"``."""
    family, _, k = metric.partition("@")
    return f"{_LABELS.get(family, family)}@{k}" if k else _LABELS.get(family, family)


@dataclass(frozen=True, slots=True)
class QueryResult:
    """One query's outcome: the ranking returned (cut at the deepest k), its latency and scores."""

    qid: str
    query: str
    ranking: tuple[str, ...]
    latency_ms: float
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "qid": self.qid,
            "query": self.query,
            "latency_ms": round(self.latency_ms, 4),
            "scores": self.scores,
            "ranking": list(self.ranking),
        }


@dataclass(frozen=True, slots=True)
class Latency:
    """Per-query retrieval latency in milliseconds (percentiles by linear interpolation)."""

    p50: float
    p95: float
    p99: float
    mean: float
    max: float

    @classmethod
    def of(cls, millis: Sequence[float]) -> Latency:
        if not millis:
            return cls(0.0, 0.0, 0.0, 0.0, 0.0)
        values = np.asarray(millis, dtype=np.float64)
        p50, p95, p99 = (float(v) for v in np.percentile(values, [50, 95, 99]))
        return cls(p50=p50, p95=p95, p99=p99, mean=float(values.mean()), max=float(values.max()))

    def to_dict(self) -> dict[str, float]:
        return {"p50": self.p50, "p95": self.p95, "p99": self.p99, "mean": self.mean, "max": self.max}


@dataclass(frozen=True, slots=True)
class EvalReport:
    """One system on one dataset: mean metrics with bootstrap CIs, per-query scores, latency.

    ``metrics[m]`` holds metric ``m`` for every evaluated query (those with a relevant document),
    aligned to sorted query ids; ``summary[m]`` is its mean with a 95% bootstrap CI.
    """

    name: str
    dataset: str
    ks: tuple[int, ...]
    metrics: dict[str, PerQuery]
    summary: dict[str, ConfidenceInterval]
    latency: Latency
    queries: tuple[QueryResult, ...]

    def scores(self, metric: str) -> PerQuery:
        try:
            return self.metrics[metric]
        except KeyError:
            raise ConfigError(
                f"report {self.name!r} has no metric {metric!r}",
                key="metric",
                hint=f"computed: {', '.join(self.metrics)}",
            ) from None

    def mean(self, metric: str) -> float:
        return self.scores(metric).mean

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dataset": self.dataset,
            "ks": list(self.ks),
            "queries": len(self.queries),
            "evaluated_queries": len(next(iter(self.metrics.values())).qids) if self.metrics else 0,
            "summary": {metric: ci.as_dict() for metric, ci in self.summary.items()},
            "latency_ms": self.latency.to_dict(),
            "per_query": [result.to_dict() for result in self.queries],
        }

    def to_json(self, path: str | Path) -> Path:
        """Write the summary and per-query results as JSON to ``path``; returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return target


@dataclass(frozen=True, slots=True)
class Comparison:
    """Candidate ``b`` against baseline ``a`` on ``metric``; the difference is ``b - a``."""

    metric: str
    a: str
    b: str
    a_mean: float
    b_mean: float
    test: PairedTest

    @property
    def difference(self) -> ConfidenceInterval:
        return self.test.difference

    @property
    def p_value(self) -> float:
        return self.test.p_value

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "a": self.a,
            "b": self.b,
            "a_mean": self.a_mean,
            "b_mean": self.b_mean,
            "difference": self.difference.as_dict(),
            "p_value": self.p_value,
            "n": self.test.n,
        }


def _cell(ci: ConfidenceInterval | None, digits: int) -> str:
    if ci is None or math.isnan(ci.mean):
        return "—"
    return f"{ci.mean:.{digits}f} ± {ci.half_width:.{digits}f}"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1) -> str:
    """A Markdown table whose first ``left`` columns align left and the rest right."""
    rule = "|" + "|".join(["---"] * left + ["---:"] * (len(header) - left)) + "|"
    return "\n".join([_row(header), rule, *(_row(row) for row in rows)])


def markdown_table(
    reports: EvalReport | Sequence[EvalReport], metrics: Sequence[str] | None = None, *, digits: int = 3
) -> str:
    """A table with one row per report: each metric as ``mean ± half-width of its 95% CI``,
    then latency p50/p95. ``metrics`` defaults to those of the first report."""
    rows_of = [reports] if isinstance(reports, EvalReport) else list(reports)
    if not rows_of:
        return ""
    chosen = list(metrics) if metrics is not None else list(rows_of[0].summary)
    header = ["System", *(metric_label(m) for m in chosen), "p50 ms", "p95 ms"]
    rows = [
        [
            report.name or report.dataset,
            *(_cell(report.summary.get(m), digits) for m in chosen),
            f"{report.latency.p50:.1f}",
            f"{report.latency.p95:.1f}",
        ]
        for report in rows_of
    ]
    return table(header, rows) + "\n\n± is half the width of the 95% percentile-bootstrap CI."


def comparison_table(comparisons: Comparison | Sequence[Comparison], *, digits: int = 3) -> str:
    """A table with one row per comparison: both means, the difference ``b - a`` with its 95% CI,
    and the paired randomization-test p-value."""
    items = [comparisons] if isinstance(comparisons, Comparison) else list(comparisons)
    header = ["Metric", "A", "B", "A score", "B score", "Δ (B − A)", "95% CI of Δ", "p", "n"]
    rows = [
        [
            metric_label(c.metric),
            c.a,
            c.b,
            f"{c.a_mean:.{digits}f}",
            f"{c.b_mean:.{digits}f}",
            f"{c.difference.mean:+.{digits}f}",
            f"[{c.difference.low:+.{digits}f}, {c.difference.high:+.{digits}f}]",
            f"{c.p_value:.4f}",
            str(c.test.n),
        ]
        for c in items
    ]
    return table(header, rows, left=3)
