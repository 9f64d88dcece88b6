"""evaluate / compare / reports, on a hand-made collection and on BM25 over SciFact."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from quarry.errors import ConfigError
from quarry.evaluation import (
    CorpusDoc,
    EvalReport,
    RetrievalDataset,
    compare,
    comparison_table,
    evaluate,
    hits_to_doc_ids,
    markdown_table,
)
from quarry.evaluation.metrics import ndcg
from quarry.types import Chunk, Hit

from .conftest import BM25

TINY = RetrievalDataset(
    name="tiny",
    corpus={d: CorpusDoc("", d) for d in ("a", "b", "c", "x")},
    queries={"q1": "find a", "q2": "find b", "q3": "nothing relevant"},
    qrels={"q1": {"a": 2, "b": 1}, "q2": {"b": 1}, "q3": {"c": 0}},
)
RANKINGS = {"find a": ["x", "a", "a", "b"], "find b": ["b"], "nothing relevant": ["c"]}


def tiny_report(name: str = "tiny-system") -> EvalReport:
    return evaluate(TINY, lambda query: RANKINGS[query], ks=(1, 10), name=name, resamples=500)


def test_evaluate_scores_every_judged_query() -> None:
    progress: list[tuple[int, int]] = []
    report = evaluate(TINY, lambda q: RANKINGS[q], ks=(10, 1, 10), name="sys", progress=lambda *p: progress.append(p))
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert report.ks == (1, 10)
    assert list(report.summary) == [f"{m}@{k}" for k in (1, 10) for m in ("ndcg", "recall", "precision", "mrr", "map")]
    assert report.scores("ndcg@10").qids == ("q1", "q2")  # q3 has no relevant document
    expected = (ndcg(["x", "a", "b"], TINY.qrels["q1"], 10) + 1.0) / 2
    assert report.mean("ndcg@10") == pytest.approx(expected)
    assert report.summary["ndcg@10"].mean == pytest.approx(expected)
    assert report.mean("mrr@10") == pytest.approx((1 / 2 + 1) / 2)
    first = report.queries[0]
    assert first.ranking == ("x", "a", "b")  # deduplicated
    assert first.scores["recall@1"] == 0.0
    assert report.queries[2].scores == {}
    assert first.latency_ms >= 0
    assert report.latency.p50 <= report.latency.p95 <= report.latency.p99 <= report.latency.max


def test_rankings_are_cut_at_the_deepest_cutoff() -> None:
    report = evaluate(TINY, lambda q: [f"n{i}" for i in range(50)] + ["a"], ks=(5,))
    assert all(len(result.ranking) == 5 for result in report.queries)
    assert report.mean("recall@5") == 0.0


def test_retrieve_must_return_document_ids() -> None:
    with pytest.raises(ConfigError, match="retrieve returned a int for query 'q1'"):
        evaluate(TINY, lambda q: [1, 2])  # type: ignore[list-item]


@pytest.mark.parametrize("ks", [(), (0, 10)])
def test_cutoffs_must_be_positive(ks: tuple[int, ...]) -> None:
    with pytest.raises(ConfigError, match="cutoffs"):
        evaluate(TINY, lambda q: [], ks=ks)


def test_to_json_writes_summary_and_per_query_results(tmp_path: Path) -> None:
    path = tiny_report().to_json(tmp_path / "out" / "report.json")
    data = json.loads(path.read_text())
    assert data["name"] == "tiny-system"
    assert data["dataset"] == "tiny"
    assert (data["queries"], data["evaluated_queries"]) == (3, 2)
    assert set(data["summary"]["ndcg@10"]) == {"mean", "low", "high", "level"}
    assert set(data["latency_ms"]) == {"p50", "p95", "p99", "mean", "max"}
    assert data["per_query"][0]["qid"] == "q1"
    assert data["per_query"][0]["ranking"] == ["x", "a", "b"]
    assert data["per_query"][1]["scores"]["ndcg@10"] == 1.0


def test_markdown_table_of_several_reports() -> None:
    table = markdown_table([tiny_report("bm25"), tiny_report("dense|v2")], ["ndcg@10", "recall@10"])
    lines = table.splitlines()
    assert lines[0] == "| System | nDCG@10 | Recall@10 | p50 ms | p95 ms |"
    assert lines[1] == "|---|---:|---:|---:|---:|"
    assert lines[2].startswith("| bm25 | 0.8") and " ± " in lines[2]
    assert lines[3].startswith("| dense\\|v2 |")
    assert "95% percentile-bootstrap CI" in lines[-1]
    assert markdown_table(tiny_report()).count("\n| tiny-system |") == 1
    assert markdown_table([]) == ""


def test_compare_requires_the_same_queries_and_a_known_metric() -> None:
    other = evaluate(
        RetrievalDataset("other", {}, {"q1": "find a"}, {"q1": {"a": 1}}), lambda q: ["a"], ks=(1, 10), name="other"
    )
    with pytest.raises(ConfigError, match="not evaluated on the same queries"):
        compare(tiny_report(), other)
    with pytest.raises(ConfigError, match="has no metric 'ndcg@5'"):
        compare(tiny_report(), tiny_report(), "ndcg@5")


def test_hits_to_doc_ids_keeps_each_documents_best_chunk() -> None:
    def hit(doc: str, index: int, score: float) -> Hit:
        chunk = Chunk(document_id=f"id-{doc}", index=index, text="t", start=0, end=1)
        return Hit(chunk=chunk, score=score, document_uri=f"file:///{doc}.md")

    hits = [hit("b", 3, 0.9), hit("a", 0, 0.8), hit("b", 1, 0.7), hit("c", 0, 0.5), hit("a", 2, 0.4)]
    assert hits_to_doc_ids(hits, lambda h: h.document_uri) == ["file:///b.md", "file:///a.md", "file:///c.md"]
    assert hits_to_doc_ids(hits, lambda h: h.chunk.document_id) == ["id-b", "id-a", "id-c"]
    assert hits_to_doc_ids([], lambda h: h.document_uri) == []


@pytest.mark.slow
def test_bm25_on_scifact_end_to_end(scifact: RetrievalDataset, bm25: BM25, tmp_path: Path) -> None:
    rng = random.Random(3)
    docs = sorted(scifact.corpus)
    good = evaluate(scifact, bm25.search, name="bm25")
    # A worse system: BM25 with half of its top 10 replaced by random documents.
    worse = evaluate(
        scifact,
        lambda q: [d if rng.random() < 0.5 else rng.choice(docs) for d in bm25.search(q)[:10]],
        name="bm25-noisy",
    )
    assert len(good.queries) == 300
    assert 0.62 < good.mean("ndcg@10") < 0.70
    low, high = good.summary["ndcg@10"].low, good.summary["ndcg@10"].high
    assert 0.03 < high - low < 0.15
    assert good.latency.p99 < 1000

    same = compare(good, good)
    assert (same.p_value, same.difference.mean) == (1.0, 0.0)
    worse_vs_good = compare(worse, good)
    assert worse_vs_good.p_value < 0.01
    assert worse_vs_good.difference.low > 0

    table = comparison_table([worse_vs_good, compare(worse, good, "recall@100")])
    assert table.splitlines()[0] == "| Metric | A | B | A score | B score | Δ (B − A) | 95% CI of Δ | p | n |"
    assert "| nDCG@10 | bm25-noisy | bm25 |" in table
    assert table.splitlines()[2].endswith("| 0.0001 | 300 |")
    assert json.loads(good.to_json(tmp_path / "bm25.json").read_text())["summary"]["ndcg@10"]["mean"] == good.mean(
        "ndcg@10"
    )
    assert markdown_table([good, worse], ["ndcg@10"]).count("\n| bm25") == 2
