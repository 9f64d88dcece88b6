"""BM25 whose statistics come only from the documents a caller may see.

bm25s bakes one collection-wide IDF and average length into its score matrix, so a caller's scores would
move when documents it cannot see contain a query word — a side channel that tells whether restricted
documents mention a term. When a search is restricted (access principals, metadata filters), the text path
scores with these term counts instead: document frequency, document count and average length over the
allowed rows only, Lucene's BM25 exactly as bm25s computes it (``scores`` over every row equals bm25s's
scores; a test holds that). Unrestricted searches keep bm25s's faster precomputed matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["TermCounts"]


@dataclass(frozen=True)
class TermCounts:
    """Term frequencies by term (compressed columns: ``indptr`` over term ids, ``rows`` and ``counts``)."""

    indptr: npt.NDArray[np.int64]
    rows: npt.NDArray[np.int32]
    counts: npt.NDArray[np.float32]
    lengths: npt.NDArray[np.float64]  # tokens per row
    vocab: dict[str, int]

    @classmethod
    def of(cls, tokenized: Any) -> TermCounts:
        """From ``bm25s.tokenize`` output (``ids`` per row and the ``vocab`` they index)."""
        ids: list[list[int]] = [list(row) for row in tokenized.ids]
        vocab = dict(tokenized.vocab)
        row_of = np.repeat(np.arange(len(ids), dtype=np.int64), [len(r) for r in ids])
        term_of = np.fromiter((t for r in ids for t in r), dtype=np.int64, count=int(row_of.size))
        width = max(len(ids), 1)
        pairs, counts = np.unique(term_of * width + row_of, return_counts=True)  # sorted by term, then row
        terms, rows = np.divmod(pairs, width)
        per_term = np.bincount(terms, minlength=len(vocab))
        indptr = np.concatenate([[0], np.cumsum(per_term)]).astype(np.int64)
        lengths = np.array([len(r) for r in ids], dtype=np.float64)
        return cls(indptr, rows.astype(np.int32), counts.astype(np.float32), lengths, vocab)

    def scores(self, terms: list[str], visible: npt.NDArray[np.bool_], k1: float, b: float) -> npt.NDArray[np.float64]:
        """Every row's BM25 for ``terms`` with the statistics of the ``visible`` rows; 0 for hidden rows."""
        out = np.zeros(len(self.lengths), dtype=np.float64)
        n = int(np.count_nonzero(visible))
        if n == 0:
            return out
        average = float(self.lengths[visible].mean()) or 1.0
        for term in terms:
            tid = self.vocab.get(term)
            if tid is None:
                continue
            rows = self.rows[self.indptr[tid] : self.indptr[tid + 1]]
            tf = self.counts[self.indptr[tid] : self.indptr[tid + 1]].astype(np.float64)
            keep = visible[rows]
            rows, tf = rows[keep], tf[keep]
            if rows.size == 0:
                continue
            idf = np.log(1.0 + (n - rows.size + 0.5) / (rows.size + 0.5))
            norm = k1 * (1.0 - b + b * self.lengths[rows] / average)
            out[rows] += idf * tf / (tf + norm)
        return out
