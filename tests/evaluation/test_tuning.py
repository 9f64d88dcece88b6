"""Per-collection calibration: an alternative wins only when it is significantly better."""

from __future__ import annotations

from collections.abc import Mapping

from quarry.evaluation import RetrievalDataset, Retrieve
from quarry.evaluation.tuning import Candidate, fusion_grid, tune
from tests.evaluation.conftest import BM25


def _systems(scifact: RetrievalDataset, bm25: BM25) -> dict[str, Retrieve]:
    """Real rankings of SciFact: BM25 itself, BM25 with its top 10 reversed (clearly worse), and
    BM25 improved on two queries only, by swapping a relevant second hit above an irrelevant first
    one (better, but by a margin too small to trust)."""
    runs = {qid: bm25.search(query) for qid, query in scifact.queries.items()}
    by_text = {query: runs[qid] for qid, query in scifact.queries.items()}
    fixable = [
        qid
        for qid, ranking in runs.items()
        if len(ranking) > 1 and ranking[1] in scifact.qrels[qid] and ranking[0] not in scifact.qrels[qid]
    ]
    assert len(fixable) >= 2, "SciFact's BM25 run should have queries with the relevant document second"
    nudged_text = {scifact.queries[qid] for qid in fixable[:2]}

    def reversed_top(query: str) -> list[str]:
        ranking = by_text[query]
        return ranking[:10][::-1] + ranking[10:]

    def swapped(query: str) -> list[str]:
        ranking = list(by_text[query])
        if query in nudged_text:
            ranking[0], ranking[1] = ranking[1], ranking[0]
        return ranking

    return {"bm25": by_text.__getitem__, "reversed": reversed_top, "swapped": swapped}


def test_a_clearly_better_alternative_is_chosen(scifact: RetrievalDataset, bm25: BM25) -> None:
    systems = _systems(scifact, bm25)

    def make(overrides: Mapping[str, object]) -> Retrieve:
        return systems[str(overrides.get("system", "reversed"))]

    result = tune(scifact, make, [Candidate("proper bm25", {"system": "bm25"}), Candidate("same", {})])
    assert result.chosen.name == "proper bm25"
    assert result.comparisons[0].difference.mean > 0 and result.comparisons[0].p_value < 0.05 / 2
    assert result.comparisons[1].difference.mean == 0  # the baseline against itself


def test_a_difference_within_noise_keeps_the_current_settings(scifact: RetrievalDataset, bm25: BM25) -> None:
    systems = _systems(scifact, bm25)

    def make(overrides: Mapping[str, object]) -> Retrieve:
        return systems[str(overrides.get("system", "bm25"))]

    result = tune(scifact, make, [Candidate("nudged", {"system": "swapped"})])
    assert result.comparisons[0].difference.mean > 0
    assert result.chosen.name == "current settings" and not result.chosen.overrides
    assert "noise" in result.reason


def test_the_grid_covers_each_path_alone_and_both_fusions() -> None:
    grid = fusion_grid()
    modes = {c.overrides.get("mode") for c in grid}
    fusions = {c.overrides.get("fusion") for c in grid if c.overrides.get("mode") == "hybrid"}
    assert modes == {"bm25", "dense", "hybrid"} and fusions == {"rrf", "minmax", "zscore"}
    assert len({c.name for c in grid}) == len(grid)
    assert {c.overrides.get("fusion_unit", "document") for c in grid if c.overrides["mode"] == "hybrid"} == {
        "document",
        "chunk",
    }
