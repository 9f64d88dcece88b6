"""Rerankers: blending with the first-stage score, the protocol, the LLM judge (scripted and real)."""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
import pytest

from quarry.errors import ConfigError, ProviderError
from quarry.evaluation import load_beir
from quarry.llm import LocalChatModel, stop_local_servers
from quarry.retrieval.rerankers import (
    GRADE_SCHEMA,
    LLMJudgeReranker,
    Reranker,
    Scores,
    ScoringReranker,
    blend,
    passage_of,
)
from quarry.retrieval.rerankers.packaged import require
from quarry.testing.chat import ScriptedChatModel
from quarry.types import Chunk, Hit
from tests.conftest import SCIFACT


def scifact_hits(n_distractors: int = 4, query_index: int = 0) -> tuple[str, str, list[Hit]]:
    """A real SciFact test query, its first relevant document *last* (lowest first-stage score) and
    seeded random other documents ahead of it: ``(query, relevant doc id, hits)``."""
    data = load_beir(SCIFACT, "test")
    qid = sorted(data.queries)[query_index]
    relevant = sorted(doc for doc, grade in data.qrels[qid].items() if grade > 0)[0]
    others = random.Random(query_index).sample(sorted(set(data.corpus) - set(data.qrels[qid])), n_distractors)
    hits = []
    for rank, doc_id in enumerate([*others, relevant]):
        doc = data.corpus[doc_id]
        text = f"# {doc.title}\n\n{doc.text}"
        chunk = Chunk(doc_id, 0, text, 0, len(text), heading_path=(doc.title,))
        hits.append(Hit(chunk, 1.0 - rank / 10, f"scifact#{doc_id}", doc.title, retriever="hybrid"))
    return data.queries[qid], relevant, hits


class OverlapReranker(ScoringReranker):
    """Scores a passage by how many query words it contains (a transparent scorer for the base class)."""

    name = "overlap"

    def score(self, query: str, passages: Sequence[str]) -> Scores:
        words = set(query.lower().split())
        return np.array([len(words & set(p.lower().split())) for p in passages], dtype=np.float64)


def test_blend_is_the_weighted_sum_of_per_query_z_scores() -> None:
    first, second = np.array([3.0, 2.0, 1.0]), np.array([0.0, 10.0, 20.0])
    z1, z2 = (first - 2.0) / first.std(), (second - 10.0) / second.std()
    assert np.allclose(blend(first, second, 0.3), 0.3 * z2 + 0.7 * z1)
    assert np.allclose(blend(first, second, 1.0), z2)
    assert np.allclose(blend([1.0, 1.0], [5.0, 5.0], 0.5), [0.0, 0.0])  # constant lists carry no signal
    with pytest.raises(ConfigError, match="weight"):
        blend(first, second, 1.5)


def test_a_scoring_reranker_reorders_real_hits_and_marks_them() -> None:
    query, _, hits = scifact_hits()
    reranker = OverlapReranker()
    assert isinstance(reranker, Reranker)
    overlap = reranker.score(query, [passage_of(h) for h in hits])
    out = reranker.rerank(query, hits, k=3)
    expected = sorted(range(len(hits)), key=lambda i: -overlap[i])[:3]  # stable: ties keep input order
    assert [h.chunk.id for h in out] == [hits[i].chunk.id for i in expected]
    assert all(h.retriever == "hybrid+rerank:overlap" for h in out)
    assert [h.score for h in out] == sorted((h.score for h in out), reverse=True)


def test_weight_zero_keeps_the_first_stage_order() -> None:
    query, _, hits = scifact_hits()
    out = OverlapReranker(weight=0.0).rerank(query, hits, k=len(hits))
    assert [h.chunk.id for h in out] == [h.chunk.id for h in hits]


def test_bad_arguments_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="weight"):
        OverlapReranker(weight=-0.1)
    _, _, hits = scifact_hits()
    with pytest.raises(ConfigError, match="k must be"):
        OverlapReranker().rerank("q", hits, k=0)
    assert OverlapReranker().rerank("q", [], k=5) == []


def test_a_missing_optional_package_says_how_to_install_it() -> None:
    with pytest.raises(ConfigError) as caught:
        require("quarry_no_such_module")
    assert "quarry_no_such_module" in caught.value.message
    assert "quarry[rerank]" in caught.value.hint


def test_the_judge_orders_by_grade_and_judges_only_the_first_candidates() -> None:
    query, _, hits = scifact_hits(n_distractors=5)
    model = ScriptedChatModel(['{"grade": 1}', '{"grade": 0}', '{"grade": 3}', '{"grade": 1}'])
    judge = LLMJudgeReranker(model, max_candidates=4)
    out = judge.rerank(query, hits, k=6)
    assert [h.chunk.id for h in out] == [hits[i].chunk.id for i in (2, 0, 3, 1, 4, 5)]
    assert len(model.calls) == 4  # hits past max_candidates are not judged; they follow in order
    assert out[0].retriever == "hybrid+rerank:judge:scripted:scripted"
    first = model.calls[0]
    assert query in first.messages[-1].content and hits[0].chunk.text[:100] in first.messages[-1].content
    assert "Reply with only a JSON object" in first.messages[0].content  # schema described: no native support


def test_the_judge_counts_unusable_replies_as_grade_zero_and_lets_provider_errors_through() -> None:
    query, _, hits = scifact_hits(n_distractors=1)
    model = ScriptedChatModel(["no idea", "still no idea", '{"grade": 2}'])
    judge = LLMJudgeReranker(model, max_attempts=2)
    assert list(judge.score(query, [passage_of(h) for h in hits])) == [0.0, 2.0]
    assert judge.failures == 1
    down = ScriptedChatModel([ProviderError("down", provider="scripted", status=503)])
    with pytest.raises(ProviderError):
        LLMJudgeReranker(down).rerank(query, hits, k=2)


def test_the_judge_with_the_real_local_model_grades_within_the_schema() -> None:
    query, _, hits = scifact_hits(n_distractors=1)
    model = LocalChatModel("smollm2", n_threads=1, n_ctx=2048)
    try:
        judge = LLMJudgeReranker(model, max_chars=300)
        grades = judge.score(query, [passage_of(h) for h in hits])
        out = judge.rerank(query, hits, k=2)
    finally:
        model.close()
        stop_local_servers()
    assert set(grades) <= set(GRADE_SCHEMA["properties"]["grade"]["enum"])
    assert judge.failures == 0  # decoding is constrained to the schema
    assert sorted(h.chunk.id for h in out) == sorted(h.chunk.id for h in hits)
