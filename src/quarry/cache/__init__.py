"""Caches: content-addressed, persistent, below every layer that computes what they hold."""

from quarry.cache.embeddings import CacheStats, EmbeddingCache

__all__ = ["CacheStats", "EmbeddingCache"]
