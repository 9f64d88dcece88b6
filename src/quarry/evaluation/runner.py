"""Run a retrieval system over a test collection and measure it.

The harness knows nothing about how retrieval works: :func:`evaluate` takes any function from a
query string to ranked document ids. For Quarry's chunk-level search, wrap it with
:func:`hits_to_doc_ids`::

    report = evaluate(dataset, lambda q: hits_to_doc_ids(search(q, k=100), id_of=lambda h: h.document_uri))
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

from quarry.errors import ConfigError
from quarry.evaluation.datasets import RetrievalDataset
from quarry.evaluation.metrics import evaluate_run, metric_names
from quarry.evaluation.report import Comparison, EvalReport, Latency, QueryResult
from quarry.evaluation.stats import PERMUTATIONS, RESAMPLES, SEED, bootstrap_ci, paired_test
from quarry.types import Hit

__all__ = ["Progress", "Retrieve", "compare", "evaluate", "hits_to_doc_ids"]

Retrieve = Callable[[str], Iterable[str]]
"""A retrieval system under test: query text → document ids, best first."""
Progress = Callable[[int, int], None]
"""Called with ``(done, total)`` after each query."""


def hits_to_doc_ids(hits: Iterable[Hit], id_of: Callable[[Hit], str]) -> list[str]:
    """Document ids of chunk-level ``hits``, each document once, at its best chunk's rank.

    ``hits`` must be ordered best first (as search returns them), so the first occurrence of a
    document is its highest-scoring chunk. ``id_of`` maps a hit to the id the judgments use, e.g.
    ``lambda hit: hit.document_uri`` or a metadata field holding the dataset's own id.
    """
    return list(dict.fromkeys(id_of(hit) for hit in hits))


def _check_ks(ks: Sequence[int]) -> tuple[int, ...]:
    cutoffs = tuple(sorted(set(ks)))
    if not cutoffs or cutoffs[0] < 1:
        raise ConfigError(f"cutoffs must be at least 1, got {list(ks)}", key="ks", hint="for example ks=(10, 100)")
    return cutoffs


def _run_query(retrieve: Retrieve, qid: str, query: str, depth: int) -> tuple[list[str], float]:
    """The deduplicated ranking (cut at ``depth``) and the latency in ms of one query."""
    start = time.perf_counter()
    ranking = list(retrieve(query))
    elapsed_ms = (time.perf_counter() - start) * 1000
    bad = next((doc for doc in ranking if not isinstance(doc, str)), None)
    if bad is not None:
        raise ConfigError(
            f"retrieve returned a {type(bad).__name__} for query {qid!r}, expected document ids (str)",
            key="retrieve",
            hint="map chunk hits to document ids with hits_to_doc_ids",
        )
    return list(dict.fromkeys(ranking))[:depth], elapsed_ms


def evaluate(
    dataset: RetrievalDataset,
    retrieve: Retrieve,
    *,
    ks: Sequence[int] = (10, 100),
    name: str = "",
    resamples: int = RESAMPLES,
    seed: int = SEED,
    progress: Progress | None = None,
) -> EvalReport:
    """Run every query of ``dataset`` through ``retrieve`` and score the rankings.

    Computes nDCG, recall, precision, MRR and MAP at each cutoff in ``ks`` (see
    :mod:`quarry.evaluation.metrics`), each mean with a 95% bootstrap CI, and per-query latency
    percentiles. Rankings are deduplicated and kept up to the deepest cutoff.
    """
    cutoffs = _check_ks(ks)
    run: dict[str, list[str]] = {}
    latencies: dict[str, float] = {}
    total = len(dataset.queries)
    for done, (qid, query) in enumerate(dataset.queries.items(), start=1):
        run[qid], latencies[qid] = _run_query(retrieve, qid, query, cutoffs[-1])
        if progress is not None:
            progress(done, total)
    metrics = evaluate_run(run, dataset.qrels, metric_names(cutoffs))
    summary = {
        metric: bootstrap_ci(scores.values, resamples=resamples, seed=seed)
        for metric, scores in metrics.items()
        if scores.values.size
    }
    by_query = {metric: scores.as_dict() for metric, scores in metrics.items()}
    results = tuple(
        QueryResult(
            qid=qid,
            query=query,
            ranking=tuple(run[qid]),
            latency_ms=latencies[qid],
            scores={metric: values[qid] for metric, values in by_query.items() if qid in values},
        )
        for qid, query in dataset.queries.items()
    )
    return EvalReport(
        name=name,
        dataset=dataset.name,
        ks=cutoffs,
        metrics=metrics,
        summary=summary,
        latency=Latency.of(list(latencies.values())),
        queries=results,
    )


def compare(
    a: EvalReport,
    b: EvalReport,
    metric: str = "ndcg@10",
    *,
    resamples: int = RESAMPLES,
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
) -> Comparison:
    """Paired comparison of ``b`` against ``a`` on ``metric`` over the same queries.

    The difference is ``b - a`` (positive: ``b`` is better), with a 95% bootstrap CI and the
    two-sided p-value of a paired sign-flip randomization test (:func:`quarry.evaluation.stats.paired_test`).
    """
    first, second = a.scores(metric), b.scores(metric)
    if first.qids != second.qids:
        raise ConfigError(
            f"reports {a.name!r} and {b.name!r} were not evaluated on the same queries",
            key="metric",
            hint="compare runs of the same dataset and split",
        )
    test = paired_test(first.values, second.values, resamples=resamples, permutations=permutations, seed=seed)
    return Comparison(
        metric=metric,
        a=a.name or "a",
        b=b.name or "b",
        a_mean=first.mean,
        b_mean=second.mean,
        test=test,
    )
