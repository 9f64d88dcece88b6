"""The searcher on a real collection (the bundled samples, the real model and store)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from quarry.assembly import Quarry, build
from quarry.embeddings import Embedder
from quarry.ingest.sources import FolderSource
from quarry.retrieval.search import Searcher
from quarry.settings import RetrievalSettings, Settings, StoreSettings
from quarry.stores.filters import Eq, Not
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
