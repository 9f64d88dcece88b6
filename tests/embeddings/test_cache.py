"""The content-addressed embedding cache and the caching wrapper."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from quarry.cache import EmbeddingCache
from quarry.embeddings import CachedEmbedder, MiniLMEmbedder
from quarry.testing.embedders import HashEmbedder
from quarry.types import content_hash


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[EmbeddingCache]:
    with EmbeddingCache(tmp_path / "embeddings.db") as opened:
        yield opened


def test_put_and_get_many(cache: EmbeddingCache) -> None:
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4)
    added = cache.put_many("m", [("a", vectors[0]), ("b", vectors[1])])
    assert added == 2
    assert cache.put_many("m", [("a", vectors[2]), ("c", vectors[2])]) == 1  # "a" is kept as first stored
    found = cache.get_many("m", ["a", "b", "c", "missing", "a"])
    assert sorted(found) == ["a", "b", "c"]
    np.testing.assert_array_equal(found["a"], vectors[0])
    assert found["a"].dtype == np.float32
    assert cache.get_many("other-model", ["a"]) == {}
    assert len(cache) == 3
    stats = cache.stats()
    assert stats.entries == 3
    assert stats.models == {"m": 3}
    assert (stats.hits, stats.misses) == (3, 2)


def test_many_hashes_in_one_lookup(cache: EmbeddingCache) -> None:
    rows = np.random.default_rng(0).random((1200, 8), dtype=np.float32)
    cache.put_many("m", [(str(i), row) for i, row in enumerate(rows)])
    found = cache.get_many("m", [str(i) for i in range(1200)])
    assert len(found) == 1200
    np.testing.assert_array_equal(found["1199"], rows[1199])


def test_second_embed_makes_zero_inner_calls(cache: EmbeddingCache) -> None:
    embedder = CachedEmbedder(HashEmbedder(16), cache)
    texts = ["one fish", "two fish", "red fish", "one fish"]
    first = embedder.embed(texts)
    assert (embedder.calls, embedder.embedded) == (1, 3)  # the duplicate is embedded once
    second = embedder.embed(list(reversed(texts)))
    assert (embedder.calls, embedder.embedded) == (1, 3)
    np.testing.assert_array_equal(second, first[::-1])
    embedder.embed(["one fish", "blue fish"])
    assert (embedder.calls, embedder.embedded) == (2, 4)  # only the new text
    assert embedder.embed([]).shape == (0, 16)


def test_vectors_match_the_inner_embedder_and_its_identity(cache: EmbeddingCache, minilm: object) -> None:
    assert isinstance(minilm, MiniLMEmbedder)
    embedder = CachedEmbedder(minilm, cache)
    texts = ["cached vectors equal fresh ones", "second text"]
    np.testing.assert_allclose(embedder.embed(texts), minilm.embed(texts), atol=1e-6)
    np.testing.assert_allclose(embedder.embed(texts), minilm.embed(texts), atol=1e-6)
    assert embedder.calls == 1
    assert (embedder.model_id, embedder.dimension) == (minilm.model_id, 384)
    assert embedder.count_tokens("hello world") == 2
    assert set(cache.get_many(minilm.model_id, [content_hash(t) for t in texts])) == {content_hash(t) for t in texts}


def test_a_different_model_id_misses(cache: EmbeddingCache) -> None:
    small = CachedEmbedder(HashEmbedder(16), cache)
    large = CachedEmbedder(HashEmbedder(32), cache)
    small.embed(["shared text"])
    assert large.embed(["shared text"]).shape == (1, 32)
    assert (small.calls, large.calls) == (1, 1)
    assert cache.stats().models == {"test/hash-16": 1, "test/hash-32": 1}


def test_persists_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "cache.db"
    texts = ["persist me", "and me"]
    with EmbeddingCache(path) as cache:
        first = CachedEmbedder(HashEmbedder(16), cache).embed(texts)
    with EmbeddingCache(path) as cache:
        reopened = CachedEmbedder(HashEmbedder(16), cache)
        np.testing.assert_array_equal(reopened.embed(texts), first)
        assert reopened.calls == 0
        assert len(cache) == 2


def test_queries_bypass_the_cache_so_searches_write_nothing(cache: EmbeddingCache) -> None:
    inner = HashEmbedder()
    cached = CachedEmbedder(inner, cache)
    vector = cached.embed_query("what is the warranty")
    assert len(cache) == 0
    assert cached.calls == 0
    np.testing.assert_allclose(vector, inner.embed_query("what is the warranty"))


def test_a_repeated_query_is_embedded_once_and_shared_read_only(cache: EmbeddingCache, minilm: object) -> None:
    from unittest.mock import patch

    assert isinstance(minilm, MiniLMEmbedder)
    embedder = CachedEmbedder(minilm, cache)
    with patch.object(minilm, "embed_query", wraps=minilm.embed_query) as inner:
        first = embedder.embed_query("how many days of leave")
        again = embedder.embed_query("how many days of leave")
        other = embedder.embed_query("another question")
    assert inner.call_count == 2 and again is first and not first.flags.writeable
    np.testing.assert_allclose(first, minilm.embed_query("how many days of leave"), atol=1e-6)
    assert not np.allclose(first, other)
