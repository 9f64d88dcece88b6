"""An :class:`Embedder` wrapper that embeds only texts whose vectors are not cached yet."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from quarry.cache.embeddings import EmbeddingCache
from quarry.embeddings.base import Embedder
from quarry.types import Matrix, content_hash

__all__ = ["RECENT_QUERIES", "CachedEmbedder"]

RECENT_QUERIES = 256


class CachedEmbedder(Embedder):
    """Wraps any embedder with an :class:`EmbeddingCache` keyed by ``(model_id, content_hash(text))``.

    :meth:`embed` looks every text up, sends all misses (deduplicated) to the inner embedder in one
    call, stores the new vectors and returns all rows in input order. ``calls`` counts inner
    ``embed`` calls and ``embedded`` the texts actually embedded, so "nothing changed" is checkable as
    ``calls == 0``. The hash is the one :attr:`quarry.types.Chunk.content_hash` uses for the chunk's
    ``context``, which is the text that gets embedded.
    """

    def __init__(self, inner: Embedder, cache: EmbeddingCache) -> None:
        self.inner = inner
        self.cache = cache
        self.calls = 0
        self.embedded = 0
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, Matrix] = OrderedDict()

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @model_id.setter
    def model_id(self, value: str) -> None:
        raise AttributeError("model_id belongs to the inner embedder")

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    @dimension.setter
    def dimension(self, value: int) -> None:
        raise AttributeError("dimension belongs to the inner embedder")

    @property
    def batch_size(self) -> int:
        return self.inner.batch_size

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        raise AttributeError("batch_size belongs to the inner embedder")

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    @max_tokens.setter
    def max_tokens(self, value: int) -> None:
        raise AttributeError("max_tokens belongs to the inner embedder")

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed(self, texts: Sequence[str]) -> Matrix:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        hashes = [content_hash(text) for text in texts]
        model_id = self.model_id
        found = self.cache.get_many(model_id, hashes)
        missing = {key: text for key, text in zip(hashes, texts, strict=True) if key not in found}
        if missing:
            vectors = self.inner.embed(list(missing.values()))
            with self._lock:
                self.calls += 1
                self.embedded += len(missing)
            fresh = dict(zip(missing, vectors, strict=True))
            self.cache.put_many(model_id, fresh.items())
            found.update(fresh)
        out: Matrix = np.stack([found[key] for key in hashes]).astype(np.float32, copy=False)
        return out

    def embed_query(self, text: str) -> Matrix:
        """Queries are not written to disk (that would make every search a disk write), but the last
        ``RECENT_QUERIES`` are kept in memory: one answer embeds its question for the injection guard, the
        answer cache and the search, and all three get the same read-only vector from one model call."""
        with self._lock:
            found = self._recent.get(text)
            if found is not None:
                self._recent.move_to_end(text)
                return found
        vector = self.inner.embed_query(text)
        vector.setflags(write=False)
        with self._lock:
            self._recent[text] = vector
            while len(self._recent) > RECENT_QUERIES:
                self._recent.popitem(last=False)
        return vector

    def _embed(self, texts: Sequence[str]) -> Matrix:
        return self.inner.embed(texts)
