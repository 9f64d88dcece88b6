"""The embedder seam: one abstract method, ``_embed``; the base class owns batching and validation."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from quarry.errors import EmbeddingError
from quarry.types import Matrix

__all__ = ["Embedder", "Matrix"]


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension.

    Subclasses implement :meth:`_embed` for one batch. :meth:`embed` sorts texts by length so each
    batch pads little, calls ``_embed`` per batch, checks shapes, and returns rows in input order.
    ``model_id`` names the model *and* its preprocessing: vectors from different ids never mix.
    """

    model_id: str
    dimension: int
    batch_size: int = 32
    max_tokens: int = 256

    @abstractmethod
    def _embed(self, texts: Sequence[str]) -> Matrix:
        """Embed one batch; returns shape ``(len(texts), dimension)``."""

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` occupies in this model's input (without special tokens)."""
        return max(1, len(text) // 4)

    def embed(self, texts: Sequence[str]) -> Matrix:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            batch = self._embed([texts[i] for i in idx])
            if batch.shape != (len(idx), self.dimension):
                raise EmbeddingError(
                    f"embedder returned shape {batch.shape}, expected {(len(idx), self.dimension)}",
                    model=self.model_id,
                )
            out[idx] = batch
        return _normalise(out)

    def embed_query(self, text: str) -> Matrix:
        """One query vector, shape ``(dimension,)``."""
        vector: Matrix = self.embed([text])[0]
        return vector


def _normalise(matrix: Matrix) -> Matrix:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalised: Matrix = (matrix / norms).astype(np.float32, copy=False)
    return normalised
