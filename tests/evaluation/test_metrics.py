"""Metrics against hand-computed trec_eval values and against ranx (an independent implementation)."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from ranx import Qrels as RanxQrels
from ranx import Run as RanxRun
from ranx import evaluate as ranx_evaluate

from quarry.errors import ConfigError
from quarry.evaluation import RetrievalDataset, evaluate_run, judged_queries, metric_names, per_query
from quarry.evaluation.metrics import average_precision, ndcg, precision, recall, reciprocal_rank

# numba (under ranx) warns about an internal integer cast while it compiles ranx's kernels.
pytestmark = pytest.mark.filterwarnings("ignore::numba.core.errors.NumbaTypeSafetyWarning")

METRICS = metric_names((1, 3, 5, 10, 100))
JUDGED = {"a": 2, "b": 1, "c": 0, "z": 1}
RANKING = ["c", "a", "y", "b"]
LOG3 = math.log2(3)


def ranx_scores(run: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, dict[str, float]]:
    """ranx's per-query values on the judged queries, as {metric: {qid: value}}."""
    qids = judged_queries(qrels)
    ranx_run = RanxRun({q: {doc: float(len(run[q]) - i) for i, doc in enumerate(run[q])} for q in qids})
    ranx_qrels = RanxQrels({q: dict(qrels[q]) for q in qids})
    values = ranx_evaluate(ranx_qrels, ranx_run, METRICS, return_mean=False, make_comparable=True)
    assert isinstance(values, dict)
    order = sorted(ranx_run.keys())
    return {m: dict(zip(order, np.asarray(values[m], dtype=float), strict=True)) for m in METRICS}


def assert_matches_ranx(run: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> None:
    ours = evaluate_run(run, qrels, METRICS)
    theirs = ranx_scores(run, qrels)
    for metric in METRICS:
        expected = np.array([theirs[metric][q] for q in ours[metric].qids])
        np.testing.assert_allclose(ours[metric].values, expected, atol=1e-6, rtol=0, err_msg=metric)


# --- hand-computed, from the trec_eval definitions ------------------------------------------------


def test_ndcg_uses_linear_graded_gain_and_ideal_from_qrels() -> None:
    idcg3 = 2 + 1 / LOG3 + 1 / 2  # grades 2, 1, 1 in the ideal order
    assert ndcg(RANKING, JUDGED, 3) == pytest.approx((2 / LOG3) / idcg3)
    assert ndcg(RANKING, JUDGED, 10) == pytest.approx((2 / LOG3 + 1 / math.log2(5)) / idcg3)
    assert ndcg(RANKING, JUDGED, 1) == 0.0
    assert ndcg(["a", "b", "z"], JUDGED, 10) == pytest.approx(1.0)


def test_ndcg_is_indifferent_to_the_order_of_equally_graded_documents() -> None:
    assert ndcg(["a", "z", "b"], JUDGED, 3) == pytest.approx(ndcg(["a", "b", "z"], JUDGED, 3)) == pytest.approx(1.0)
    assert ndcg(["b", "a"], JUDGED, 2) == pytest.approx(ndcg(["z", "a"], JUDGED, 2))


def test_unjudged_documents_count_as_non_relevant_not_skipped() -> None:
    # "y" is unjudged: it keeps rank 3, so "b" is discounted at rank 4 (BEIR/pytrec_eval, not condensed lists).
    assert ndcg(["y", "a"], JUDGED, 10) == pytest.approx(ndcg(["c", "a"], JUDGED, 10))
    assert ndcg(["y", "a"], JUDGED, 10) < ndcg(["a"], JUDGED, 10)


def test_recall_precision_mrr_map_by_hand() -> None:
    assert recall(RANKING, JUDGED, 3) == pytest.approx(1 / 3)
    assert recall(RANKING, JUDGED, 10) == pytest.approx(2 / 3)
    assert precision(RANKING, JUDGED, 3) == pytest.approx(1 / 3)
    assert precision(RANKING, JUDGED, 10) == pytest.approx(2 / 10)  # divided by k, not by the list length
    assert reciprocal_rank(RANKING, JUDGED, 10) == pytest.approx(1 / 2)
    assert reciprocal_rank(RANKING, JUDGED, 1) == 0.0
    assert average_precision(RANKING, JUDGED, 3) == pytest.approx((1 / 2) / 3)  # map_cut: divided by all of |R|
    assert average_precision(RANKING, JUDGED, 100) == pytest.approx((1 / 2 + 2 / 4) / 3)


def test_duplicates_in_a_ranking_count_once() -> None:
    assert ndcg(["a", "a", "b"], JUDGED, 3) == pytest.approx(ndcg(["a", "b"], JUDGED, 3))
    assert precision(["a", "a", "a"], JUDGED, 3) == pytest.approx(1 / 3)


def test_queries_without_relevant_documents_are_excluded_and_missing_runs_score_zero() -> None:
    qrels = {"q2": {"x": 1}, "q1": JUDGED, "q0": {"n": 0}, "q3": {}}
    scores = per_query("ndcg@10", {"q1": RANKING}, qrels)
    assert scores.qids == ("q1", "q2")
    assert scores.values.dtype == np.float64
    assert scores.values[1] == 0.0
    assert scores.as_dict()["q1"] == pytest.approx(ndcg(RANKING, JUDGED, 10))
    assert scores.mean == pytest.approx(scores.values.mean())


@pytest.mark.parametrize("name", ["ndcg", "ndcg@0", "ndcg@x", "bleu@10", "@10"])
def test_unknown_metrics_are_config_errors(name: str) -> None:
    with pytest.raises(ConfigError, match="unknown metric"):
        per_query(name, {}, {"q": {"d": 1}})


# --- against ranx --------------------------------------------------------------------------------


def test_crafted_graded_runs_match_ranx() -> None:
    qrels = {
        "q1": JUDGED,
        "q2": {"x": 1},
        "q3": {"d1": 3, "d2": 2, "d3": 2, "d4": 1, "d5": 0},
        "q4": {"d1": 1, "d2": 1},
    }
    run = {
        "q1": RANKING,
        "q2": ["y", "w"],
        "q3": ["d5", "d3", "u1", "d1", "u2", "d4", "u3", "u4", "u5", "u6", "d2"],
        "q4": ["d2", "d1"],
    }
    assert_matches_ranx(run, qrels)


def test_random_graded_runs_match_ranx() -> None:
    rng = random.Random(7)
    docs = [f"d{i}" for i in range(400)]
    qrels = {
        f"q{q}": {doc: rng.choice([0, 1, 1, 2, 3]) for doc in rng.sample(docs, rng.randint(1, 30))} for q in range(200)
    }
    run = {q: rng.sample(docs, rng.randint(1, 150)) for q in qrels}
    assert_matches_ranx(run, qrels)


@pytest.mark.slow
def test_bm25_on_scifact_matches_ranx(scifact: RetrievalDataset, bm25_run: dict[str, list[str]]) -> None:
    assert_matches_ranx(bm25_run, scifact.qrels)


def test_bm25_on_scifact_is_near_the_published_score(scifact: RetrievalDataset, bm25_run: dict[str, list[str]]) -> None:
    scores = evaluate_run(bm25_run, scifact.qrels, ["ndcg@10", "recall@100"])
    assert len(scores["ndcg@10"].qids) == 300
    assert 0.62 < scores["ndcg@10"].mean < 0.70  # Anserini BM25 (with stemming): 0.665
    assert scores["recall@100"].mean > 0.8
