"""An in-memory LRU + TTL cache of serialised results (the API keeps search responses in it).

It knows nothing about what it holds: the caller builds the key, and the key must name *everything*
the value depends on (for search: collection, its write generation, the query, k, mode, filter, the
caller's visibility, explain). A key that leaves something out would serve one caller's result to
another, so the key is a plain tuple the caller spells out, not a hash this module guesses.

Bounded by entries and by bytes (values are ``bytes``, so the size is exact); the oldest-used entry
goes first. Entries expire ``ttl_s`` after they were stored, whatever else happens: the TTL bounds
staleness for anything the key cannot see (a changed access rule in settings needs a restart anyway).
Thread-safe: one lock, held only for dictionary operations.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["KeyUsage", "ResultCache", "ResultCacheConfig", "ResultCacheStats", "SearchResultCache"]


@dataclass(frozen=True, slots=True)
class KeyUsage:
    """An API key's requests (as counted by the rate limiter), how many it refused, and the last (epoch s)."""

    requests: int
    limited: int
    last_used: float


@dataclass(frozen=True, slots=True)
class ResultCacheConfig:
    """``enabled=False`` (or ``max_entries=0``) turns the cache off; ``ttl_s`` bounds an entry's age."""

    enabled: bool = True
    max_entries: int = 4096
    max_bytes: int = 64 * 2**20
    ttl_s: float = 300.0


@dataclass(frozen=True, slots=True)
class ResultCacheStats:
    hits: int
    misses: int
    entries: int
    bytes: int


class SearchResultCache(Protocol):
    """What the API needs of a result cache: this module's per-process one, or a shared one in Redis."""

    @property
    def enabled(self) -> bool: ...

    def get(self, key: Hashable) -> bytes | None: ...

    def put(self, key: Hashable, value: bytes) -> None: ...

    def clear(self) -> None: ...

    def stats(self) -> ResultCacheStats: ...


class ResultCache:
    def __init__(self, config: ResultCacheConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config, self._clock = config, clock
        self._entries: OrderedDict[Hashable, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0
        self._hits = self._misses = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.config.enabled and self.config.max_entries > 0 and self.config.max_bytes > 0

    def get(self, key: Hashable) -> bytes | None:
        """The value stored under ``key`` when it is younger than the TTL, else ``None``."""
        if not self.enabled:
            return None
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or now - entry[0] > self.config.ttl_s:
                if entry is not None:
                    self._drop(key)
                self._misses += 1
                return None
            self._entries.move_to_end(key)
            self._hits += 1
            return entry[1]

    def put(self, key: Hashable, value: bytes) -> None:
        """Store ``value``; a value larger than a quarter of the byte budget is not kept."""
        if not self.enabled or len(value) > self.config.max_bytes // 4:
            return
        now = self._clock()
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = (now, value)
            self._bytes += len(value)
            while len(self._entries) > self.config.max_entries or self._bytes > self.config.max_bytes:
                self._drop(next(iter(self._entries)))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def stats(self) -> ResultCacheStats:
        with self._lock:
            return ResultCacheStats(self._hits, self._misses, len(self._entries), self._bytes)

    def _drop(self, key: Hashable) -> None:
        _, value = self._entries.pop(key)
        self._bytes -= len(value)
