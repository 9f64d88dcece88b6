"""HyDE and multi-query rewriting: parsing the model's output, fallbacks, vectors and fused ranking.

The parsing tests feed outputs of the shapes SmolLM2-135M really produces (numbered lists, headers,
repeated lines, rambling); the vector and ranking tests use the real MiniLM model and a real store;
one test runs the real local model end to end.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from quarry.assembly import Quarry, build
from quarry.embeddings import Embedder
from quarry.errors import BudgetExceeded, ConfigError, ProviderError
from quarry.generation import load_prompt
from quarry.ingest.sources import FolderSource
from quarry.llm import LocalChatModel
from quarry.retrieval.query_rewrite import (
    expand_queries,
    hyde_vector,
    hypothetical_passage,
    mix_vectors,
    parse_queries,
    rank_expanded,
    rank_hybrid,
)
from quarry.settings import RetrievalSettings, Settings, StoreSettings
from quarry.testing.chat import ScriptedChatModel
from tests.conftest import REPO

HYDE = load_prompt("hyde@1")
MULTI = load_prompt("multi_query@1")
CLAIM = "Vitamin D deficiency increases risk of multiple sclerosis."


def test_parse_strips_numbering_bullets_labels_and_quotes() -> None:
    text = '1. vitamin D and MS risk\n2) "low vitamin D levels in multiple sclerosis"\n- Query 3: sunlight exposure MS'
    assert parse_queries(text, CLAIM) == [
        "vitamin D and MS risk",
        "low vitamin D levels in multiple sclerosis",
        "sunlight exposure MS",
    ]


def test_parse_drops_headers_copies_of_the_original_and_repeats() -> None:
    text = (
        "Alternative phrasings:\n"
        "Vitamin D deficiency increases risk of multiple sclerosis\n"
        "vitamin D deficiency and multiple sclerosis\n"
        "Vitamin D deficiency and multiple sclerosis.\n"
        "vitamin D deficiency and multiple sclerosis\n"
    )
    assert parse_queries(text, CLAIM) == ["vitamin D deficiency and multiple sclerosis"]


def test_parse_caps_count_and_length_and_drops_one_word_lines() -> None:
    rambling = "materials that can be used " * 20
    text = f"{rambling}\nMS\nfirst rewrite here\nsecond rewrite here\nthird rewrite here\nfourth rewrite here"
    assert parse_queries(text, CLAIM, n=2, max_chars=200) == ["first rewrite here", "second rewrite here"]


@pytest.mark.parametrize("garbage", ["", "\n\n", "The answer is:", CLAIM, "1. " + CLAIM])
def test_parse_of_garbage_is_empty(garbage: str) -> None:
    assert parse_queries(garbage, CLAIM) == []


def test_expand_puts_the_original_first_and_asks_deterministically() -> None:
    chat = ScriptedChatModel(["1. low vitamin D and MS\n2. vitamin D levels multiple sclerosis risk"])
    rewrite = expand_queries(CLAIM, chat, MULTI, n=3)
    assert rewrite.texts == (CLAIM, "low vitamin D and MS", "vitamin D levels multiple sclerosis risk")
    assert rewrite.fallback is None and rewrite.prompt == "multi_query@1" and rewrite.model == "scripted"
    (call,) = chat.calls
    assert call.settings is not None and call.settings.temperature == 0.0
    assert call.settings.stop == MULTI.stop
    assert CLAIM in call.messages[-1].content


@pytest.mark.parametrize(
    "failure", [ProviderError("down", provider="local", status=503), BudgetExceeded("tokens", limit=100, spent=120)]
)
def test_expand_falls_back_to_the_original_when_the_model_fails(failure: Exception) -> None:
    rewrite = expand_queries(CLAIM, ScriptedChatModel([failure]), MULTI)
    assert rewrite.texts == (CLAIM,)
    assert rewrite.fallback is not None


def test_expand_falls_back_on_unusable_output_and_rejects_n_zero() -> None:
    rewrite = expand_queries(CLAIM, ScriptedChatModel([CLAIM]), MULTI)
    assert rewrite.texts == (CLAIM,) and rewrite.fallback == "no usable rewrite in the model's output"
    with pytest.raises(ConfigError):
        expand_queries(CLAIM, ScriptedChatModel([]), MULTI, n=0)


def test_passage_loses_its_label_and_short_output_falls_back() -> None:
    chat = ScriptedChatModel(["Passage: Low serum vitamin D is linked to a higher MS incidence.", "MS."])
    good = hypothetical_passage(CLAIM, chat, HYDE)
    assert good.texts == ("Low serum vitamin D is linked to a higher MS incidence.",)
    short = hypothetical_passage(CLAIM, chat, HYDE)
    assert short.texts == () and short.fallback and short.raw == "MS."


def test_mix_vectors_interpolates_unit_vectors(minilm: Embedder) -> None:
    q = minilm.embed_query(CLAIM)
    p = minilm.embed_query("Sunlight exposure and serum 25-hydroxyvitamin D in MS patients.")
    assert np.allclose(mix_vectors(q, p, 1.0), q, atol=1e-6)
    assert np.allclose(mix_vectors(q, p, 0.0), p, atol=1e-6)
    half = mix_vectors(q, p, 0.5)
    assert np.linalg.norm(half) == pytest.approx(1.0, abs=1e-5)
    assert float(half @ q) == pytest.approx(float(half @ p), abs=1e-5)
    assert float(half @ q) > float(q @ p)
    with pytest.raises(ConfigError):
        mix_vectors(q, p, 1.5)


def test_hyde_vector_uses_the_passage_or_the_query_on_fallback(minilm: Embedder) -> None:
    passage = "Low vitamin D levels are associated with a higher risk of developing multiple sclerosis."
    chat = ScriptedChatModel([passage, ProviderError("down", provider="local")])
    vector, rewrite = hyde_vector(CLAIM, chat, minilm, HYDE, query_weight=0.0)
    assert rewrite.texts == (passage,)
    assert np.allclose(vector, minilm.embed_query(passage), atol=1e-6)
    fallback, failed = hyde_vector(CLAIM, chat, minilm, HYDE)
    assert failed.fallback is not None
    assert np.allclose(fallback, minilm.embed_query(CLAIM), atol=1e-6)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory, minilm: Embedder) -> Iterator[Quarry]:
    # chunk-level rankings: no per-document limit
    quarry = build(
        Settings(
            store=StoreSettings(path=tmp_path_factory.mktemp("rw") / "q.db"),
            retrieval=RetrievalSettings(max_chunks_per_document=0),
        )
    )
    quarry.__dict__["embedder"] = minilm
    assert quarry.ingestor.run(FolderSource(REPO / "samples", max_bytes=10**7), "kb").ok
    yield quarry
    quarry.close()


def test_one_query_ranks_like_the_default_hybrid_search(samples: Quarry) -> None:
    query = "how many days of paid annual leave"
    expanded = rank_expanded(samples.store, samples.embedder, "kb", [query], 20)
    direct = rank_hybrid(samples.store, "kb", query, samples.embedder.embed_query(query), 20)
    assert expanded == direct
    searched = samples.searcher.search(query, "kb", k=5).hits
    top = samples.store.hits("kb", expanded[:5], "hybrid")
    assert [top[key].chunk.id for key, _ in expanded[:5]] == [h.chunk.id for h in searched]


def test_rrf_ranks_a_query_s_best_hit_below_only_hits_that_both_queries_found(samples: Quarry) -> None:
    queries = ["how many days of paid annual leave", "Atlas Arm payload kg"]
    runs = [rank_hybrid(samples.store, "kb", q, samples.embedder.embed_query(q), 20) for q in queries]
    fused = [key for key, _ in rank_expanded(samples.store, samples.embedder, "kb", queries, 20, fusion="rrf")]
    in_both = {key for key, _ in runs[0]} & {key for key, _ in runs[1]}
    for run in runs:
        best = run[0][0]
        assert set(fused[: fused.index(best)]) <= in_both
    assert len(set(fused)) == len(fused) == len({key for run in runs for key, _ in run})


def test_zscore_fusion_keeps_each_query_s_best_hit_near_the_top(samples: Quarry) -> None:
    queries = ["how many days of paid annual leave", "Atlas Arm payload kg"]
    fused = [key for key, _ in rank_expanded(samples.store, samples.embedder, "kb", queries, 20, fusion="zscore")]
    for q in queries:
        assert rank_hybrid(samples.store, "kb", q, samples.embedder.embed_query(q), 20)[0][0] in fused[:4]


def test_original_weight_favours_the_original_query(samples: Quarry) -> None:
    queries = ["how many days of paid annual leave", "Atlas Arm payload kg"]
    leave = rank_hybrid(samples.store, "kb", queries[0], samples.embedder.embed_query(queries[0]), 20)[0][0]
    fused = rank_expanded(samples.store, samples.embedder, "kb", queries, 20, fusion="zscore", original_weight=3.0)
    assert fused[0][0] == leave
    with pytest.raises(ConfigError):
        rank_expanded(samples.store, samples.embedder, "kb", [], 20)


@pytest.fixture(scope="module")
def smollm2() -> Iterator[LocalChatModel]:
    model = LocalChatModel("smollm2", n_threads=1, n_ctx=2048)
    yield model
    model.close()


def test_the_real_local_model_writes_usable_rewrites_and_a_passage(smollm2: LocalChatModel) -> None:
    expanded = expand_queries(CLAIM, smollm2, MULTI, n=3)
    assert expanded.texts[0] == CLAIM and 1 <= len(expanded.texts) <= 4
    assert len({t.lower() for t in expanded.texts}) == len(expanded.texts)
    assert all(len(t) <= 200 for t in expanded.texts)
    passage = hypothetical_passage(CLAIM, smollm2, HYDE)
    assert passage.fallback is None and passage.model
    assert "vitamin d" in passage.texts[0].lower()
