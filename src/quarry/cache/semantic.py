"""A semantic answer cache: an exact key of everything that changes the answer, then the nearest question.

An entry is stored under an **exact key** the caller builds (collection and its write generation, the caller's
effective filter — which carries its principals —, prompt version, model, generation settings, and the numbers
and names the question mentions) together with the question's embedding. A lookup takes the entries under the
same exact key and returns the one whose question is nearest by cosine, if that cosine is at least
``threshold``. So a paraphrase is served the stored answer; another collection version, another caller's
visibility, another prompt, or a question about another year never is — those differ in the key, not in the
vector, and no threshold can make them match.

Backends (:class:`AnswerCacheBackend`) keep entries and hit/miss counters: SQLite beside the store
(:class:`~quarry.cache.semantic_sqlite.SQLiteAnswerCache`, the default) or Redis, shared by replicas
(:class:`~quarry.cache.semantic_redis.RedisAnswerCache`). Entries older than ``ttl_s`` are not served.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from quarry.types import Matrix

__all__ = ["AnswerCacheBackend", "CacheCounts", "CacheHit", "Entry", "SemanticCache", "exact_key"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored answer: its question, the question's unit vector, and the serialised answer."""

    question: str
    vector: Matrix
    payload: bytes
    created: float


@dataclass(frozen=True, slots=True)
class CacheCounts:
    entries: int
    bytes: int
    hits: int
    misses: int
    collections: dict[str, int]

    @property
    def hit_rate(self) -> float:
        asked = self.hits + self.misses
        return self.hits / asked if asked else 0.0


@dataclass(frozen=True, slots=True)
class CacheHit:
    payload: bytes
    similarity: float
    question: str


class AnswerCacheBackend(Protocol):
    """Where entries live. Thread-safe; ``put`` also removes the collection's entries of older generations."""

    name: str

    def entries(self, key: str) -> list[Entry]:
        """Every entry stored under ``key`` (newest first)."""
        ...

    def put(self, key: str, collection: str, generation: int, entry: Entry) -> None: ...

    def count(self, hit: bool) -> None:
        """Add one to the hit or miss counter."""
        ...

    def counts(self) -> CacheCounts: ...

    def clear(self, collection: str | None = None) -> int:
        """Drop the entries of ``collection`` (every collection when None); how many were dropped."""
        ...

    def close(self) -> None: ...


def exact_key(parts: dict[str, Any]) -> str:
    """A stable digest of ``parts`` (JSON with sorted keys; values must be JSON-serialisable or ``repr``-able)."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _unit(vector: Matrix) -> Matrix:
    flat = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(flat))
    unit: Matrix = flat / norm if norm else flat
    return unit


class SemanticCache:
    """Lookups and stores over a backend, with the similarity threshold and the entries' time to live."""

    def __init__(self, backend: AnswerCacheBackend, *, threshold: float, ttl_s: float,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.backend, self.threshold, self.ttl_s, self._clock = backend, threshold, ttl_s, clock

    def lookup(self, key: str, vector: Matrix) -> CacheHit | None:
        """The nearest live entry under ``key`` when its cosine to ``vector`` reaches the threshold."""
        query = _unit(vector)
        oldest = self._clock() - self.ttl_s
        best: CacheHit | None = None
        for entry in self.backend.entries(key):
            if entry.created < oldest:
                continue
            similarity = float(np.dot(_unit(entry.vector), query))
            if similarity >= self.threshold and (best is None or similarity > best.similarity):
                best = CacheHit(entry.payload, similarity, entry.question)
        self.backend.count(best is not None)
        return best

    def store(self, key: str, collection: str, generation: int, question: str, vector: Matrix,
              payload: bytes) -> None:  # fmt: skip
        self.backend.put(key, collection, generation, Entry(question, _unit(vector), payload, self._clock()))

    def counts(self) -> CacheCounts:
        return self.backend.counts()

    def clear(self, collection: str | None = None) -> int:
        return self.backend.clear(collection)

    def close(self) -> None:
        self.backend.close()
