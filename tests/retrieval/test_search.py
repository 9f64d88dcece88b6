"""The searcher on a real collection (the bundled samples, the real model and store)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from quarry.assembly import Quarry, build
from quarry.embeddings import Embedder
from quarry.generation.prompts import load_prompt
from quarry.ingest.sources import FolderSource
from quarry.retrieval.across import search_across
from quarry.retrieval.rerankers import Scores, ScoringReranker
from quarry.retrieval.search import Searcher
from quarry.settings import RetrievalSettings, Settings, StoreSettings
from quarry.stores.filters import Eq, Not
from quarry.testing.chat import ScriptedChatModel
from quarry.types import Matrix
from tests.conftest import REPO


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory, minilm: Embedder) -> Iterator[Quarry]:
    quarry = build(Settings(store=StoreSettings(path=tmp_path_factory.mktemp("s") / "q.db")))
    quarry.__dict__["embedder"] = minilm
    report = quarry.ingestor.run(FolderSource(REPO / "samples", max_bytes=10**7), "kb")
    assert report.ok
    yield quarry
    quarry.close()


def _names(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [Path(h.document_uri).name for h in hits]


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_each_mode_finds_the_leave_policy(samples: Quarry, mode: str) -> None:
    result = samples.searcher.search("how many days of paid annual leave", "kb", k=3, mode=mode)  # type: ignore[arg-type]
    assert result.mode == mode
    assert _names(result.hits)[0] == "handbook.md"
    assert "27 days" in result.hits[0].chunk.text
    assert all(h.retriever == mode for h in result.hits)


def test_hybrid_explain_shows_ranks_on_each_path(samples: Quarry) -> None:
    result = samples.searcher.search("Atlas Arm payload kg", "kb", k=5, explain=True)
    assert len(result.explanations) == len(result.hits) == 5
    top = result.explanations[0]
    assert top.chunk_id == result.hits[0].chunk.id
    assert set(top.paths) == {"bm25", "dense"}
    assert top.paths["bm25"][0] >= 1
    assert [e.fused_score for e in result.explanations] == sorted(
        (e.fused_score for e in result.explanations), reverse=True
    )


def test_documents_are_fused_on_both_paths_by_their_best_chunk(samples: Quarry, minilm: Embedder) -> None:
    query = "laptop password rotation after a security incident"
    result = samples.searcher.search(query, "kb", k=4, explain=True)
    assert len({h.document_uri for h in result.hits}) == len(result.hits) == 4
    vector = minilm.embed_query(query)
    for hit, why in zip(result.hits, result.explanations, strict=True):
        assert set(why.paths) == {"bm25", "dense"}  # every candidate is scored on both paths
        chunks = samples.store.chunks("kb", hit.document_uri)
        cosines = minilm.embed([c.context for c in chunks]) @ vector
        assert why.paths["dense"][1] == pytest.approx(float(cosines.max()), abs=1e-4)
        assert hit.chunk.text == chunks[int(cosines.argmax())].text  # the best dense chunk stands for it
    chunk_level = Searcher(samples.store, minilm, samples.tracer, RetrievalSettings(fusion_unit="chunk"))
    explained = chunk_level.search(query, "kb", k=4, explain=True).explanations
    assert any(len(e.paths) == 1 for e in explained)  # chunk fusion leaves a floor where a path missed


def test_filters_apply_inside_both_paths_and_still_return_k(samples: Quarry) -> None:
    where = Not(Eq("path", "handbook.md"))
    result = samples.searcher.search("annual leave days", "kb", k=4, where=where)
    assert len(result.hits) == 4
    assert "handbook.md" not in _names(result.hits)


def test_per_document_limit(samples: Quarry) -> None:
    limited = Searcher(samples.store, samples.embedder, samples.tracer, RetrievalSettings(max_chunks_per_document=1))
    hits = limited.search("security laptop passwords incident", "kb", k=5).hits
    assert len(set(_names(hits))) == len(hits)


def test_search_writes_a_trace_with_stage_spans(samples: Quarry) -> None:
    result = samples.searcher.search("warranty", "kb", k=2)
    record = samples.trace_store.trace(result.trace_id)
    assert record is not None
    names = {str(s["name"]) for s in record.spans}
    assert {"retrieve.bm25", "embed", "retrieve.dense", "fuse", "fetch"} <= names


def test_a_caller_trace_receives_the_search_stages(samples: Quarry) -> None:
    with samples.tracer.trace("answer", "warranty?") as trace:
        result = samples.searcher.search("warranty", "kb", k=2, trace=trace)
    assert result.trace_id == trace.trace_id
    assert {"retrieve.bm25", "retrieve.dense", "fuse", "fetch"} <= {s.name for s in trace.spans}


def test_a_collections_own_settings_override_the_global_ones(samples: Quarry, minilm: Embedder) -> None:
    overrides = RetrievalSettings.model_validate({"collections": {"kb": {"mode": "bm25"}}})
    searcher = Searcher(samples.store, minilm, samples.tracer, overrides)
    assert searcher.search("annual leave", "kb", k=2).mode == "bm25"
    assert searcher.search("annual leave", "kb", k=2, mode="dense").mode == "dense"  # an explicit mode wins


class _Reversed(ScoringReranker):
    """A reranker that prefers what the first stage liked least: the wiring must follow it."""

    name = "reversed"

    def score(self, query: str, passages: Sequence[str]) -> Scores:
        return np.arange(len(passages), dtype=np.float64)


def test_a_reranker_reorders_the_head_and_leaves_the_tail(samples: Quarry, minilm: Embedder) -> None:
    settings = RetrievalSettings.model_validate({"rerank": {"depth": 4}})
    plain = Searcher(samples.store, minilm, samples.tracer, settings).search("annual leave", "kb", k=6)
    reranked = Searcher(samples.store, minilm, samples.tracer, settings, reranker=_Reversed(weight=1.0))
    result = reranked.search("annual leave", "kb", k=6)
    ids = [h.chunk.id for h in result.hits]
    assert ids[:4] == [h.chunk.id for h in plain.hits[:4]][::-1]
    assert ids[4:] == [h.chunk.id for h in plain.hits[4:6]]
    assert all("rerank:reversed" in h.retriever for h in result.hits[:4])


def test_mmr_setting_diversifies_the_chunk_level_list(samples: Quarry, minilm: Embedder) -> None:
    unlimited = RetrievalSettings(max_chunks_per_document=0)
    plain = Searcher(samples.store, minilm, samples.tracer, unlimited).search("annual leave", "kb", k=5)
    diverse_settings = unlimited.model_copy(update={"mmr_lambda": 0.3, "duplicate_threshold": 0.8})
    diverse = Searcher(samples.store, minilm, samples.tracer, diverse_settings).search("annual leave", "kb", k=5)
    assert len(diverse.hits) == 5 and diverse.hits[0].chunk.id == plain.hits[0].chunk.id  # MMR starts with the best
    assert [h.chunk.id for h in diverse.hits] != [h.chunk.id for h in plain.hits]
    assert len({h.document_uri for h in diverse.hits}) >= len({h.document_uri for h in plain.hits})
    assert all(d.hit.chunk.id not in {h.chunk.id for h in diverse.hits} for d in diverse.duplicates)


def test_expand_returns_exact_passages_around_the_hits(samples: Quarry, minilm: Embedder) -> None:
    settings = RetrievalSettings.model_validate({"expand": {"window": 1}})
    searcher = Searcher(samples.store, minilm, samples.tracer, settings)
    result = searcher.search("annual leave", "kb", k=3)
    passages = searcher.expand(result)
    assert {h.chunk.id for p in passages for h in p.hits} == {h.chunk.id for h in result.hits}
    for passage in passages:
        document = samples.store.document("kb", passage.hit.document_uri)
        assert document is not None and document.text[passage.start : passage.end] == passage.text
        assert passage.start <= passage.hit.chunk.start and passage.end >= passage.hit.chunk.end


def _expanding(samples: Quarry, minilm: Embedder, kind: str, chat: ScriptedChatModel) -> Searcher:
    settings = RetrievalSettings.model_validate({"query_expansion": {"kind": kind}})
    prompts = {ref: load_prompt(ref) for ref in ("hyde@1", "multi_query@1")}
    return Searcher(samples.store, minilm, samples.tracer, settings, chat=chat, prompts=prompts)


def test_hyde_searches_with_the_hypothetical_passage(samples: Quarry, minilm: Embedder) -> None:
    passage = "Staff receive twenty-seven days of paid annual leave each calendar year, plus public holidays."
    chat = ScriptedChatModel(default=passage)
    result = _expanding(samples, minilm, "hyde", chat).search("time off", "kb", k=3, mode="dense")
    plain = Searcher(samples.store, minilm, samples.tracer).search("time off", "kb", k=3, mode="dense")
    assert len(chat.calls) == 1 and "time off" in chat.calls[0].messages[-1].content
    assert [h.score for h in result.hits] != [h.score for h in plain.hits]
    assert "27 days" in result.hits[0].chunk.text
    trace = samples.trace_store.trace(result.trace_id)
    assert trace is not None and "rewrite.hyde" in {span["name"] for span in trace.spans}


def test_multi_query_fuses_every_rewrite_and_falls_back_on_garbage(samples: Quarry, minilm: Embedder) -> None:
    chat = ScriptedChatModel(["1. paid holiday allowance per year\n2. vacation days for employees"])
    searcher = _expanding(samples, minilm, "multi_query", chat)
    result = searcher.search("annual leave", "kb", k=3, explain=True)
    assert {name for e in result.explanations for name in e.paths} == {"expanded"}
    assert "handbook.md" in _names(result.hits)
    chat.add("?")  # nothing usable: the plain hybrid search runs
    fallback = searcher.search("annual leave", "kb", k=3, explain=True)
    assert {name for e in fallback.explanations for name in e.paths} == {"bm25", "dense"}


def test_routed_search_goes_to_the_collection_that_fits(samples: Quarry, datasets: Path) -> None:
    report = samples.ingestor.run(FolderSource(datasets / "paul-graham-essay", max_bytes=10**7), "essay")
    assert report.ok
    result = search_across(samples.searcher, samples.router, "how many days of paid annual leave", k=4)
    assert result.searched[0] == "kb" and result.routes[0].collection == "kb"
    assert result.hits and all(collection in result.searched for collection, _ in result.hits)
    essay = search_across(samples.searcher, samples.router, "what did the author work on before college", k=4)
    assert essay.searched[0] == "essay" and essay.hits[0][0] == "essay"


def test_routed_search_embeds_the_query_once(samples: Quarry, monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = samples.searcher.embedder
    assert samples.router.embedder is embedder
    calls: list[str] = []
    embed_query = embedder.embed_query

    def counting(text: str) -> Matrix:
        calls.append(text)
        return embed_query(text)

    monkeypatch.setattr(embedder, "embed_query", counting)
    query = "how many days of paid annual leave"
    routed = search_across(samples.searcher, samples.router, query, k=4)
    assert calls == [query]
    first = routed.searched[0]
    merged = [hit.chunk.id for collection, hit in routed.hits if collection == first]
    direct = samples.searcher.search(query, first, k=4)  # embeds the query itself
    assert merged and [hit.chunk.id for hit in direct.hits][: len(merged)] == merged
