"""The reranking seam: a :class:`Reranker` reorders a first stage's candidates for one query.

Most rerankers are *scorers*: a relevance model gives each candidate passage a number, and
:class:`ScoringReranker` turns those numbers into the new order. The first stage's (fused) score is
not thrown away: :func:`blend` z-scores both lists over the candidates (per query, as fusion does)
and takes ``weight · reranker + (1 − weight) · first stage``. ``weight = 1`` replaces the first-stage
order with the reranker's; lower weights let a good first stage veto a reranker's mistakes. Ties keep
the first stage's order (the sort is stable), which matters for coarse scorers such as an LLM's grade.

Reranked hits carry the blended score (comparable within one query only, not with the first stage's
scores or thresholds) and ``retriever`` gains ``+rerank:<name>``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from quarry.errors import ConfigError
from quarry.types import Hit

__all__ = ["Reranker", "Scores", "ScoringReranker", "blend", "passage_of"]

Scores = npt.NDArray[np.float64]


@runtime_checkable
class Reranker(Protocol):
    """Reorders candidates: the best ``k`` of ``hits`` (best first) for ``query``."""

    @property
    def name(self) -> str: ...

    def rerank(self, query: str, hits: Sequence[Hit], k: int) -> list[Hit]: ...


def _zscore(values: Scores) -> Scores:
    std = float(values.std())
    return (values - values.mean()) / std if std > 0 else np.zeros_like(values)


def blend(first: Sequence[float] | Scores, second: Sequence[float] | Scores, weight: float) -> Scores:
    """``weight · z(second) + (1 − weight) · z(first)``, z-scored over these candidates."""
    if not 0.0 <= weight <= 1.0:
        raise ConfigError(f"rerank weight must be in [0, 1], got {weight}", key="retrieval.rerank.weight")
    a = np.asarray(first, dtype=np.float64)
    b = np.asarray(second, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot blend {a.size} first-stage scores with {b.size} reranker scores")
    return weight * _zscore(b) + (1.0 - weight) * _zscore(a)


def passage_of(hit: Hit) -> str:
    """What a reranker reads: the chunk's context (heading path + text), the text that was embedded."""
    return hit.chunk.context


class ScoringReranker(ABC):
    """A reranker built on a relevance scorer; subclasses implement :meth:`score` only.

    ``weight`` is the reranker's share in :func:`blend` (1 = replace the first-stage order).
    """

    name: str = "scorer"

    def __init__(self, *, weight: float = 1.0) -> None:
        blend([0.0], [0.0], weight)  # validates the weight once, at construction
        self.weight = weight

    @abstractmethod
    def score(self, query: str, passages: Sequence[str]) -> Scores:
        """One relevance score per passage (higher = more relevant), on the model's own scale."""

    def rerank(self, query: str, hits: Sequence[Hit], k: int) -> list[Hit]:
        if k < 1:
            raise ConfigError(f"k must be at least 1, got {k}", key="k")
        if not hits:
            return []
        raw = self.score(query, [passage_of(hit) for hit in hits])
        if raw.shape != (len(hits),):
            raise ValueError(f"{self.name} returned {raw.size} scores for {len(hits)} passages")
        combined = blend([hit.score for hit in hits], raw, self.weight)
        order = sorted(range(len(hits)), key=lambda i: -combined[i])  # stable: ties keep first-stage order
        marker = f"+rerank:{self.name}"
        return [replace(hits[i], score=float(combined[i]), retriever=hits[i].retriever + marker) for i in order[:k]]
