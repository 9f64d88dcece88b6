"""Near-duplicate collapsing and MMR on a real collection: the same README in three markup formats
(real near-duplicates) next to Paul Graham's essay, searched with the real MiniLM model."""

from __future__ import annotations

import itertools
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from quarry.assembly import Quarry, build
from quarry.embeddings import Embedder
from quarry.errors import ConfigError, QuarryError
from quarry.ingest.sources import FolderSource
from quarry.retrieval.diversity import (
    collapse_near_duplicates,
    cosine_matrix,
    jaccard_matrix,
    mmr,
    mmr_order,
)
from quarry.settings import RetrievalSettings, Settings, StoreSettings
from quarry.types import Hit, Matrix
from tests.conftest import DATASETS, UNSTRUCTURED_FILES

ESSAY = DATASETS / "paul-graham-essay" / "data" / "paul_graham" / "paul_graham_essay.txt"
READMES = ("README.md", "README.rst", "README.org")


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory, minilm: Embedder) -> Iterator[Quarry]:
    folder = tmp_path_factory.mktemp("docs")
    for name in READMES:
        shutil.copyfile(UNSTRUCTURED_FILES / name, folder / name)
    shutil.copyfile(ESSAY, folder / "essay.txt")
    # chunk-level rankings: no per-document limit
    quarry = build(
        Settings(
            store=StoreSettings(path=tmp_path_factory.mktemp("s") / "q.db"),
            retrieval=RetrievalSettings(max_chunks_per_document=0),
        )
    )
    quarry.__dict__["embedder"] = minilm
    assert quarry.ingestor.run(FolderSource(folder, max_bytes=10**8), "kb").ok
    yield quarry
    quarry.close()


def _search(kb: Quarry, query: str, k: int) -> list[Hit]:
    return kb.searcher.search(query, "kb", k=k).hits


def _vectors(kb: Quarry, hits: list[Hit]) -> Matrix:
    """The hits' embeddings, recomputed from what the store embedded (``chunk.context``)."""
    return kb.embedder.embed([h.chunk.context for h in hits])


def _name(hit: Hit) -> str:
    return Path(hit.document_uri).name


def _reference_jaccard(a: str, b: str) -> float:
    """Plain-Python word 3-shingle Jaccard, independent of the numpy implementation."""

    def grams(text: str) -> set[tuple[str, ...]]:
        words = re.findall(r"\w+", text.casefold())
        return {tuple(words[i : i + 3]) for i in range(max(1, len(words) - 2))}

    x, y = grams(a), grams(b)
    return len(x & y) / len(x | y)


def test_jaccard_matrix_matches_a_plain_set_computation(kb: Quarry) -> None:
    hits = _search(kb, "the sample docs directory contains", 12)
    texts = [h.chunk.text for h in hits]
    matrix = jaccard_matrix(texts)
    assert matrix.shape == (len(texts), len(texts))
    for i, j in itertools.product(range(len(texts)), repeat=2):
        assert matrix[i, j] == pytest.approx(_reference_jaccard(texts[i], texts[j]), abs=1e-6)


def test_jaccard_ignores_case_whitespace_and_punctuation() -> None:
    text = ESSAY.read_text(encoding="utf-8")[:2000]
    reformatted = " ".join(text.upper().split()).replace(",", " ;")
    assert jaccard_matrix([text, reformatted])[0, 1] == pytest.approx(1.0)


def test_the_same_readme_in_other_markup_collapses_into_the_best_ranked_copy(kb: Quarry) -> None:
    hits = _search(kb, "the sample docs directory contains", 10)
    readmes = [h for h in hits if _name(h) in READMES]
    assert len(readmes) >= 2, "the query should find the README in several formats"
    collapsed = collapse_near_duplicates(hits, 0.8)
    kept_readmes = [h for h in collapsed.hits if _name(h) in READMES and h.chunk.index == 0]
    assert len(kept_readmes) < len([h for h in readmes if h.chunk.index == 0])
    for duplicate in collapsed.duplicates:
        assert duplicate.kept in collapsed.hits
        assert hits.index(duplicate.kept) < hits.index(duplicate.hit)
        assert duplicate.similarity >= 0.8
        assert _name(duplicate.hit) in READMES
    assert len(collapsed.hits) + len(collapsed.duplicates) == len(hits)
    assert [hits[i] for i in collapsed.kept] == list(collapsed.hits)


@pytest.mark.parametrize("threshold", [0.3, 0.6, 0.9])
def test_kept_hits_are_never_near_duplicates_of_each_other(kb: Quarry, threshold: float) -> None:
    hits = _search(kb, "the sample docs directory contains", 10) + _search(kb, "writing an interpreter", 10)
    hits = list({h.chunk.id: h for h in hits}.values())
    similarity = jaccard_matrix([h.chunk.text for h in hits])
    collapsed = collapse_near_duplicates(hits, threshold, similarity=similarity)
    for i, j in itertools.combinations(collapsed.kept, 2):
        assert similarity[i, j] < threshold
    order = [hits.index(h) for h in collapsed.hits]
    assert order == sorted(order)


def test_overlapping_neighbour_chunks_are_not_duplicates(kb: Quarry) -> None:
    essay = next(d.uri for d in kb.store.documents("kb") if d.uri.endswith("essay.txt"))
    chunks = kb.store.chunks("kb", essay)
    neighbours = [(a, b) for a, b in itertools.pairwise(chunks) if b.start < a.end]
    assert neighbours, "the essay's chunks overlap (chunking overlap_tokens > 0)"
    similarity = jaccard_matrix([c.text for c in chunks])
    assert max(similarity[a.index, b.index] for a, b in neighbours) < 0.5


def test_collapse_off_and_bad_thresholds(kb: Quarry) -> None:
    hits = _search(kb, "the sample docs directory contains", 6)
    assert collapse_near_duplicates(hits, None).hits == tuple(hits)
    with pytest.raises(ConfigError, match="threshold"):
        collapse_near_duplicates(hits, 1.5)
    with pytest.raises(QuarryError, match="shape"):
        collapse_near_duplicates(hits, 0.8, similarity=np.eye(2, dtype=np.float32))


def test_cosine_similarity_can_judge_duplicates_instead(kb: Quarry) -> None:
    hits = _search(kb, "the sample docs directory contains", 10)
    collapsed = collapse_near_duplicates(hits, 0.97, similarity=cosine_matrix(_vectors(kb, hits)))
    assert all(d.similarity >= 0.97 for d in collapsed.duplicates)
    assert {_name(d.hit) for d in collapsed.duplicates} <= set(READMES)


def test_mmr_with_lambda_one_is_the_ranking(kb: Quarry) -> None:
    hits = _search(kb, "how did he start writing essays online", 20)
    assert mmr(hits, _vectors(kb, hits), k=10, lam=1.0) == hits[:10]


def _relevance(hits: list[Hit]) -> np.ndarray:  # type: ignore[type-arg]
    scores = np.array([h.score for h in hits])
    return (scores - scores.min()) / (scores.max() - scores.min())


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.7])
def test_each_mmr_pick_maximises_the_marginal_relevance(kb: Quarry, lam: float) -> None:
    hits = _search(kb, "how did he start writing essays online", 20)
    vectors = _vectors(kb, hits)
    picked = mmr_order([h.score for h in hits], vectors, k=8, lam=lam)
    assert len(set(picked)) == 8
    assert picked[0] == 0, "the first pick is the most relevant hit whatever lambda is"
    rel, sim = _relevance(hits), vectors @ vectors.T
    for step in range(1, len(picked)):
        before = picked[:step]

        def gain(i: int, before: list[int] = before) -> float:
            return float(lam * rel[i] - (1 - lam) * max(sim[i, j] for j in before))

        best = max(gain(i) for i in range(len(hits)) if i not in before)
        assert gain(picked[step]) == pytest.approx(best, abs=1e-5)


def test_mmr_spreads_the_top_results_over_less_similar_passages(kb: Quarry) -> None:
    hits = _search(kb, "writing an interpreter in Lisp", 30)
    vectors = _vectors(kb, hits)

    def mean_similarity(chosen: list[int]) -> float:
        return float(np.mean([vectors[i] @ vectors[j] for i, j in itertools.combinations(chosen, 2)]))

    diverse = mmr_order([h.score for h in hits], vectors, k=5, lam=0.5)
    assert mean_similarity(diverse) < mean_similarity(list(range(5)))


def test_mmr_rejects_bad_arguments(kb: Quarry) -> None:
    hits = _search(kb, "essays", 5)
    vectors = _vectors(kb, hits)
    with pytest.raises(ConfigError, match="lambda"):
        mmr(hits, vectors, k=3, lam=1.5)
    with pytest.raises(QuarryError, match="vectors"):
        mmr(hits, vectors[:3], k=3, lam=0.5)
    assert mmr(hits, vectors, k=0, lam=0.5) == []
    assert len(mmr(hits, vectors, k=50, lam=0.5)) == len(hits)


def test_mmr_over_the_stores_own_vectors_as_the_searcher_would_run_it(kb: Quarry) -> None:
    query = "how did he start writing essays online"
    ranked = kb.store.rank_vector("kb", kb.embedder.embed_query(query), 20)
    found = kb.store.hits("kb", ranked, "dense")
    keys = [key for key, _ in ranked if key in found]
    hits = [found[key] for key in keys]
    stored = kb.store.vectors("kb", keys)
    assert np.allclose(stored, _vectors(kb, hits), atol=1e-3)
    picked = mmr(hits, stored, k=10, lam=0.5)
    assert picked[0] == hits[0]
    assert len({h.chunk.id for h in picked}) == 10
