"""Calibrate retrieval for one collection from a few labelled queries, without fooling yourself.

:func:`tune` evaluates the current settings and a small grid of alternatives (each path alone,
RRF, and convex fusion at several BM25 weights) on the user's judgements, and keeps the current
settings unless an alternative is better with a paired randomization test significant after a
Bonferroni correction for the number of alternatives tried. With 30 queries that bar is high on
purpose: a setting that only looks better on a handful of queries is noise, and defaults chosen
on SciFact's train split already generalise reasonably. Apply the choice to the collection only
(``[retrieval.collections.NAME]``), never globally.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from quarry.evaluation.datasets import RetrievalDataset
from quarry.evaluation.report import Comparison, EvalReport
from quarry.evaluation.runner import Progress, Retrieve, compare, evaluate

__all__ = ["Candidate", "TuningResult", "fusion_grid", "tune"]

Overrides = Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A named set of retrieval overrides (field names of ``[retrieval]``); empty = the current ones."""

    name: str
    overrides: Overrides = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TuningResult:
    metric: str
    alpha: float
    baseline: EvalReport
    reports: tuple[EvalReport, ...]
    comparisons: tuple[Comparison, ...]  # each alternative against the baseline, in ``reports`` order
    chosen: Candidate
    reason: str


def fusion_grid(weights: Sequence[float] = (0.3, 0.4, 0.5, 0.6, 0.7)) -> list[Candidate]:
    """Each single path, RRF, min-max at 0.5, z-score fusion at several BM25 weights, and z-score
    fusion of chunks instead of documents."""
    grid = [
        Candidate("bm25 only", {"mode": "bm25"}),
        Candidate("dense only", {"mode": "dense"}),
        Candidate("hybrid rrf", {"mode": "hybrid", "fusion": "rrf"}),
        Candidate("hybrid minmax 0.5", {"mode": "hybrid", "fusion": "minmax", "bm25_weight": 0.5}),
        Candidate(
            "hybrid zscore 0.5, chunk fusion",
            {"mode": "hybrid", "fusion": "zscore", "bm25_weight": 0.5, "fusion_unit": "chunk"},
        ),
    ]
    grid += [
        Candidate(f"hybrid zscore {w:.1f}", {"mode": "hybrid", "fusion": "zscore", "bm25_weight": w}) for w in weights
    ]
    return grid


def tune(
    dataset: RetrievalDataset,
    make_retrieve: Callable[[Overrides], Retrieve],
    candidates: Sequence[Candidate],
    *,
    metric: str = "ndcg@10",
    alpha: float = 0.05,
    progress: Callable[[str], Progress | None] | None = None,
) -> TuningResult:
    """Evaluate the baseline (no overrides) and every candidate; choose as the module docstring says.

    ``progress(label)`` may return a per-query progress callback for that candidate's run.
    """

    def run(name: str, overrides: Overrides) -> EvalReport:
        callback = progress(name) if progress is not None else None
        return evaluate(dataset, make_retrieve(overrides), name=name, progress=callback)

    baseline = run("current settings", {})
    reports = tuple(run(c.name, c.overrides) for c in candidates)
    comparisons = tuple(compare(baseline, report, metric) for report in reports)
    corrected = alpha / max(len(candidates), 1)
    best = max(range(len(candidates)), key=lambda i: comparisons[i].difference.mean, default=None)
    if best is None or comparisons[best].difference.mean <= 0:
        chosen, reason = Candidate("current settings"), "no alternative scored higher"
    elif comparisons[best].p_value >= corrected:
        chosen = Candidate("current settings")
        reason = (
            f"{candidates[best].name} scored {comparisons[best].difference.mean:+.3f} {metric}, "
            f"but p = {comparisons[best].p_value:.3f} is not below {corrected:.4f} "
            f"({alpha} / {len(candidates)} alternatives): "
            f"not distinguishable from noise on {len(dataset.queries)} queries"
        )
    else:
        chosen = candidates[best]
        reason = (
            f"{chosen.name} scored {comparisons[best].difference.mean:+.3f} {metric} "
            f"(p = {comparisons[best].p_value:.4f} < {corrected:.4f})"
        )
    return TuningResult(metric, alpha, baseline, reports, comparisons, chosen, reason)
