"""The query twin of the packaged MiniLM: same space as the documents, built once, cached."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from quarry.embeddings import MiniLMEmbedder
from quarry.embeddings.query_model import dynamic_int8_twin
from quarry.errors import EmbeddingError
from quarry.evaluation import load_beir
from tests.conftest import SCIFACT


@pytest.fixture(scope="module")
def queries() -> list[str]:
    return list(load_beir(SCIFACT, "test").queries.values())[:40]


def test_query_vectors_stay_in_the_document_space(queries: list[str]) -> None:
    fast = MiniLMEmbedder(query_model="dynamic-int8")
    packaged = MiniLMEmbedder(query_model="packaged")
    fast_vectors = np.stack([fast.embed_query(q) for q in queries])
    packaged_vectors = np.stack([packaged.embed_query(q) for q in queries])
    cosines = (fast_vectors * packaged_vectors).sum(axis=1)
    assert np.allclose(np.linalg.norm(fast_vectors, axis=1), 1.0, atol=1e-5)
    assert cosines.min() > 0.97
    assert not np.array_equal(fast_vectors, packaged_vectors)  # it is a different model run
    # documents are untouched: the same packaged model as every stored vector
    assert np.array_equal(fast.embed(queries[:5]), packaged.embed(queries[:5]))


def test_each_query_ranks_its_own_packaged_vector_first(queries: list[str]) -> None:
    fast, packaged = MiniLMEmbedder(), MiniLMEmbedder(query_model="packaged")
    stored = packaged.embed(queries)
    nearest = [int(np.argmax(stored @ fast.embed_query(q))) for q in queries]
    assert nearest == list(range(len(queries)))


def test_the_twin_is_built_once_and_reused(tmp_path: Path) -> None:
    source = MiniLMEmbedder()._checked_model_path()
    first = dynamic_int8_twin(source, tmp_path)
    built_at = first.stat().st_mtime_ns
    second = dynamic_int8_twin(source, tmp_path)
    assert second == first and second.stat().st_mtime_ns == built_at
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no scratch files left behind


def test_an_unwritable_cache_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(EmbeddingError) as caught:
        dynamic_int8_twin(MiniLMEmbedder()._checked_model_path(), blocker / "models")
    assert "XDG_CACHE_HOME" in (caught.value.hint or "")
