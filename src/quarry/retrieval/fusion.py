"""Rank fusion as pure functions over ranked lists of ``(id, score)`` (best first).

- :func:`rrf` — reciprocal rank fusion: ``Σ w_i / (k + rank_i)``; ignores score scales.
- :func:`convex` — normalise each list's scores, then ``Σ w_i · norm_i``; an id missing from a
  list contributes that list's floor (0 after normalisation).

Normalisations: ``"minmax"`` maps each list to [0, 1]; ``"zscore"`` to mean 0 / std 1 then shifts
so the list's minimum is 0. Both are per query, so BM25's unbounded scores and cosine similarities
become comparable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

__all__ = ["Normalisation", "Ranked", "convex", "normalise", "rrf"]

Ranked = Sequence[tuple[str, float]]
Normalisation = Literal["minmax", "zscore"]


def rrf(runs: Sequence[Ranked], *, k: float = 60.0, weights: Sequence[float] | None = None) -> list[tuple[str, float]]:
    weights = weights or [1.0] * len(runs)
    fused: dict[str, float] = {}
    for run, weight in zip(runs, weights, strict=True):
        for rank, (item, _) in enumerate(run, 1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return _sorted(fused)


def normalise(run: Ranked, method: Normalisation = "minmax") -> list[tuple[str, float]]:
    if not run:
        return []
    scores = np.fromiter((s for _, s in run), dtype=np.float64, count=len(run))
    if method == "minmax":
        span = scores.max() - scores.min()
        scaled = (scores - scores.min()) / span if span > 0 else np.ones_like(scores)
    else:
        std = scores.std()
        scaled = (scores - scores.mean()) / std if std > 0 else np.zeros_like(scores)
        scaled -= scaled.min()
    return [(item, float(s)) for (item, _), s in zip(run, scaled, strict=True)]


def convex(
    runs: Sequence[Ranked], weights: Sequence[float], *, method: Normalisation = "minmax"
) -> list[tuple[str, float]]:
    fused: dict[str, float] = {}
    for run, weight in zip(runs, weights, strict=True):
        for item, score in normalise(run, method):
            fused[item] = fused.get(item, 0.0) + weight * score
    return _sorted(fused)


def _sorted(scores: dict[str, float]) -> list[tuple[str, float]]:
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
