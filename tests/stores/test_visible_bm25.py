"""BM25 with statistics over the visible rows only: equal to bm25s over everything, and over a subset equal
to bm25s built on that subset alone (so hidden rows cannot move a score)."""

from __future__ import annotations

import gzip
import json

import bm25s
import numpy as np
import pytest

from quarry.stores.sqlite.sparse import _query_terms, tokenize
from quarry.stores.sqlite.visible_bm25 import TermCounts
from tests.conftest import SCIFACT

K1, B = 0.9, 0.4


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], list[list[str]]]:
    with gzip.open(SCIFACT / "corpus.jsonl.gz", "rt", encoding="utf-8") as lines:
        texts = [f"{d['title']}\n{d['text']}" for d in map(json.loads, list(lines)[:1500])]
    with gzip.open(SCIFACT / "queries.jsonl.gz", "rt", encoding="utf-8") as lines:
        queries = [_query_terms(json.loads(line)["text"]) for line in list(lines)[:40]]
    return texts, queries


def _bm25s(texts: list[str], terms: list[str]) -> np.ndarray:
    index = bm25s.BM25(k1=K1, b=B)
    index.index(tokenize(texts), show_progress=False)
    known = [t for t in terms if t in index.vocab_dict]
    return np.asarray(index.get_scores(known), dtype=np.float64) if known else np.zeros(len(texts))


def test_over_every_row_it_scores_as_bm25s(corpus: tuple[list[str], list[list[str]]]) -> None:
    texts, queries = corpus
    counts = TermCounts.of(tokenize(texts))
    everything = np.ones(len(texts), dtype=bool)
    for terms in queries[:15]:
        np.testing.assert_allclose(counts.scores(terms, everything, K1, B), _bm25s(texts, terms), atol=1e-5)


def test_over_a_subset_it_scores_as_an_index_of_that_subset_alone(
    corpus: tuple[list[str], list[list[str]]],
) -> None:
    texts, queries = corpus
    counts = TermCounts.of(tokenize(texts))
    visible = np.zeros(len(texts), dtype=bool)
    visible[::3] = True
    subset = [t for t, keep in zip(texts, visible, strict=True) if keep]
    for terms in queries[:15]:
        scored = counts.scores(terms, visible, K1, B)
        assert not scored[~visible].any()
        np.testing.assert_allclose(scored[visible], _bm25s(subset, terms), atol=1e-5)
