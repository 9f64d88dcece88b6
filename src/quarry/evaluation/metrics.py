"""Ranking metrics with the definitions of trec_eval / pytrec_eval, as used by BEIR.

A *run* maps a query id to its ranked document ids (best first); a *qrels* maps a query id to
graded judgments. A document is relevant when its grade is > 0; unjudged documents count as not
relevant (they are never dropped from the ranking). Duplicate ids in a ranking are ignored after
their first occurrence.

With ``rel(i)`` the grade of the document at rank ``i`` (1-based, 0 if unjudged) and ``R`` the
set of relevant documents of the query:

* ``ndcg@k``      — ``DCG@k / IDCG@k`` with ``DCG@k = Σ_{i≤k} rel(i) / log2(i + 1)`` (linear,
  graded gain, as trec_eval's ``ndcg_cut``) and ``IDCG@k`` the DCG of the judged grades sorted
  descending.
* ``recall@k``    — ``|R ∩ top k| / |R|``.
* ``precision@k`` — ``|R ∩ top k| / k`` (``k`` even when fewer documents were returned).
* ``mrr@k``       — ``1 / rank`` of the first relevant document within the top ``k``, else 0.
* ``map@k``       — ``Σ_{i≤k, doc i ∈ R} precision@i / |R|`` (trec_eval's ``map_cut``; BEIR
  reports it at ``k = 100``). Note the denominator is all of ``|R|``, not ``min(k, |R|)``.

Queries with no relevant document are excluded (BEIR semantics); queries that are judged but
absent from the run score 0. Per-query values come as float64 arrays aligned to the sorted ids of
the evaluated queries.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from quarry.errors import ConfigError

__all__ = [
    "METRICS",
    "FloatArray",
    "PerQuery",
    "average_precision",
    "evaluate_run",
    "judged_queries",
    "metric_names",
    "ndcg",
    "parse_metric",
    "per_query",
    "precision",
    "recall",
    "reciprocal_rank",
]

FloatArray = npt.NDArray[np.float64]
Run = Mapping[str, Sequence[str]]
Qrels = Mapping[str, Mapping[str, int]]
MetricFn = Callable[[Sequence[str], Mapping[str, int], int], float]


def _top(ranking: Sequence[str], k: int) -> list[str]:
    """The first ``k`` distinct ids of ``ranking``, in order."""
    return list(dict.fromkeys(ranking))[:k]


def ndcg(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    """nDCG@k with linear graded gain and a log2(rank + 1) discount."""
    ideal = sorted((grade for grade in judged.values() if grade > 0), reverse=True)[:k]
    idcg = sum(grade / math.log2(rank + 2) for rank, grade in enumerate(ideal))
    if idcg == 0:
        return 0.0
    dcg = sum(max(judged.get(doc, 0), 0) / math.log2(rank + 2) for rank, doc in enumerate(_top(ranking, k)))
    return dcg / idcg


def recall(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    relevant = sum(1 for grade in judged.values() if grade > 0)
    if relevant == 0:
        return 0.0
    return sum(1 for doc in _top(ranking, k) if judged.get(doc, 0) > 0) / relevant


def precision(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    return sum(1 for doc in _top(ranking, k) if judged.get(doc, 0) > 0) / k


def reciprocal_rank(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    for rank, doc in enumerate(_top(ranking, k), start=1):
        if judged.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def average_precision(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    relevant = sum(1 for grade in judged.values() if grade > 0)
    if relevant == 0:
        return 0.0
    hits = 0
    total = 0.0
    for rank, doc in enumerate(_top(ranking, k), start=1):
        if judged.get(doc, 0) > 0:
            hits += 1
            total += hits / rank
    return total / relevant


METRICS: dict[str, MetricFn] = {
    "ndcg": ndcg,
    "recall": recall,
    "precision": precision,
    "mrr": reciprocal_rank,
    "map": average_precision,
}
"""Metric families by name; a metric is named ``family@k``, e.g. ``ndcg@10``."""


@dataclass(frozen=True, slots=True)
class PerQuery:
    """One metric's value for each evaluated query; ``values[i]`` belongs to ``qids[i]``."""

    metric: str
    qids: tuple[str, ...]
    values: FloatArray

    @property
    def mean(self) -> float:
        return float(self.values.mean()) if self.values.size else 0.0

    def as_dict(self) -> dict[str, float]:
        return {qid: float(value) for qid, value in zip(self.qids, self.values, strict=True)}


def judged_queries(qrels: Qrels) -> list[str]:
    """Sorted ids of the queries with at least one relevant document — the ones evaluated."""
    return sorted(qid for qid, judged in qrels.items() if any(grade > 0 for grade in judged.values()))


def parse_metric(metric: str) -> tuple[MetricFn, int]:
    """``"ndcg@10"`` → ``(ndcg, 10)``; raises :class:`ConfigError` for an unknown name or bad k."""
    family, _, cutoff = metric.partition("@")
    fn = METRICS.get(family.strip().lower())
    if fn is None or not cutoff.strip().isdigit() or int(cutoff) < 1:
        raise ConfigError(
            f"unknown metric {metric!r}",
            key="metric",
            hint=f"use family@k with k ≥ 1 and family one of {', '.join(METRICS)}",
        )
    return fn, int(cutoff)


def per_query(metric: str, run: Run, qrels: Qrels) -> PerQuery:
    """``metric`` (e.g. ``"ndcg@10"``) for every judged query, aligned to sorted query ids."""
    fn, k = parse_metric(metric)
    qids = judged_queries(qrels)
    values = np.array([fn(run.get(qid, ()), qrels[qid], k) for qid in qids], dtype=np.float64)
    return PerQuery(metric=metric, qids=tuple(qids), values=values)


def evaluate_run(run: Run, qrels: Qrels, metrics: Sequence[str]) -> dict[str, PerQuery]:
    """Every metric in ``metrics`` for every judged query, keyed by metric name."""
    return {metric: per_query(metric, run, qrels) for metric in metrics}


def metric_names(ks: Sequence[int]) -> list[str]:
    """The standard metric set at each cutoff: nDCG, recall, precision, MRR and MAP."""
    return [f"{family}@{k}" for k in ks for family in METRICS]
