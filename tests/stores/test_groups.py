"""Per-document best rows against a plain loop, on random collections with ties."""

from __future__ import annotations

import numpy as np
import pytest

from quarry.stores.sqlite.groups import DocumentGroups, best_per_document


@pytest.mark.parametrize("seed", range(5))
def test_best_per_document_matches_a_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 300))
    rowids = np.sort(rng.choice(10_000, size=size, replace=False)).astype(np.int64)
    documents = rng.integers(0, max(size // 3, 1), size=size).astype(np.int64)  # interleaved, not contiguous
    scores = rng.integers(0, 4, size=size).astype(np.float64)  # few values: many ties
    keys = rng.choice(np.append(rowids, [-1, 10_001]), size=int(rng.integers(0, 40))).astype(np.int64)
    got = best_per_document(DocumentGroups.of(documents), rowids, documents, keys, lambda rows: scores[rows])
    expected = {}
    for document in {int(documents[np.flatnonzero(rowids == key)[0]]) for key in keys if key in rowids}:
        rows = np.flatnonzero(documents == document)
        best = max(rows, key=lambda row: (scores[row], -rowids[row]))
        expected[document] = (int(rowids[best]), float(scores[best]))
    assert got == expected


def test_no_rows_or_no_keys() -> None:
    empty = np.zeros(0, dtype=np.int64)
    assert best_per_document(DocumentGroups.of(empty), empty, empty, np.array([1]), lambda rows: rows * 1.0) == {}
    one = np.array([5], dtype=np.int64)
    assert best_per_document(DocumentGroups.of(one), one, one, empty, lambda rows: rows * 1.0) == {}
