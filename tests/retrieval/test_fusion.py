from __future__ import annotations

import pytest

from quarry.retrieval.fusion import convex, normalise, rrf

BM25 = [("a", 12.0), ("b", 9.0), ("c", 3.0)]
DENSE = [("c", 0.9), ("a", 0.8), ("d", 0.1)]


def test_rrf_adds_reciprocal_ranks_and_breaks_ties_by_id() -> None:
    fused = dict(rrf([BM25, DENSE], k=60))
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert fused["d"] == pytest.approx(1 / 63)
    assert [i for i, _ in rrf([[("y", 1.0)], [("x", 1.0)]])] == ["x", "y"]


def test_rrf_weights_scale_each_list() -> None:
    fused = dict(rrf([BM25, DENSE], k=60, weights=[2.0, 0.0]))
    assert fused["a"] == pytest.approx(2 / 61)
    assert fused["d"] == 0.0


def test_minmax_and_zscore_normalisation() -> None:
    assert normalise(BM25, "minmax") == [("a", 1.0), ("b", pytest.approx(6 / 9)), ("c", 0.0)]
    z = dict(normalise(BM25, "zscore"))
    assert z["c"] == 0.0
    assert z["a"] > z["b"] > 0
    assert normalise([("x", 5.0)], "minmax") == [("x", 1.0)]
    assert normalise([("x", 5.0)], "zscore") == [("x", 0.0)]
    assert normalise([], "minmax") == []


def test_convex_combination_rewards_agreement_and_honours_weights() -> None:
    fused = convex([BM25, DENSE], [0.5, 0.5], method="minmax")
    assert fused[0][0] == "a"
    assert dict(fused)["a"] == pytest.approx(0.5 * 1.0 + 0.5 * (0.8 - 0.1) / 0.8)
    only_dense = convex([BM25, DENSE], [0.0, 1.0], method="minmax")
    assert [i for i, _ in only_dense][:2] == ["c", "a"]
