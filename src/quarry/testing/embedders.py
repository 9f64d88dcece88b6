"""Deterministic embedders for tests that must not depend on a model."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from quarry.embeddings.base import Embedder
from quarry.types import Matrix

__all__ = ["HashEmbedder"]

_WORD = re.compile(r"\w+")


class HashEmbedder(Embedder):
    """Bag of hashed words: each lower-cased word adds ±1 to one of ``dimension`` buckets.

    Texts sharing words get similar vectors, so lexical "semantic" search behaves predictably;
    the hash is blake2b, stable across processes and Python versions (unlike ``hash()``).
    """

    def __init__(self, dimension: int = 64) -> None:
        if dimension < 1:
            raise ValueError("dimension must be positive")
        self.dimension = dimension
        self.model_id = f"test/hash-{dimension}"

    def _embed(self, texts: Sequence[str]) -> Matrix:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                bucket, sign = self._slot(word)
                out[row, bucket] += sign
        return out

    def _slot(self, word: str) -> tuple[int, float]:
        digest = int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "big")
        return digest % self.dimension, 1.0 if (digest >> 63) & 1 else -1.0
