"""State every API process shares through Redis (``[api] redis_url``): the per-key rate limit and the search
result cache. Without it each process keeps its own (``RateLimiter``, ``ResultCache``).

- :class:`RedisRateLimiter` is one token bucket per key for the whole fleet, updated atomically by a Lua script
  on the server's clock, so N replicas together admit the configured rate, not N times it.
- :class:`RedisResultCache` stores serialised search responses under a SHA-256 of the cache key (which names the
  collection's write generation, so a write through any replica makes older entries unreachable), with the TTL
  as Redis expiry; a response cached by one replica is served by the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Sequence
from typing import Any

from quarry.cache.results import KeyUsage, ResultCacheConfig, ResultCacheStats
from quarry.errors import ConfigError

__all__ = ["RedisRateLimiter", "RedisResultCache", "redis_client"]

# KEYS[1] bucket, KEYS[2] usage counters; ARGV rate, burst. Returns 0 when a token was taken, else the milliseconds
# until one is free; counts the request (and whether it was refused) in the same round trip.
_TAKE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]) or burst, tonumber(state[2]) or t
tokens = math.min(burst, tokens + math.max(0, t - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / rate * 1000) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(t))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
redis.call('HINCRBY', KEYS[2], 'requests', 1)
if wait > 0 then redis.call('HINCRBY', KEYS[2], 'limited', 1) end
redis.call('HSET', KEYS[2], 'last', tostring(t))
return wait
"""


def redis_client(url: str, setting: str) -> Any:
    """A client for ``url``; ConfigError naming ``setting`` when the redis package is missing."""
    try:
        import redis
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError(f"{setting} names Redis but the redis client is not installed", key=setting,
                          hint="pip install 'quarry[redis]'") from exc  # fmt: skip
    return redis.Redis.from_url(url)


class RedisRateLimiter:
    """A token bucket per key shared by every process: ``rate`` tokens a second, at most ``burst`` saved."""

    def __init__(self, client: Any, rate: float, burst: int, *, prefix: str = "quarry:rate") -> None:
        self.client, self.rate, self.burst, self.prefix = client, rate, float(burst), prefix
        self._take = client.register_script(_TAKE)

    def take(self, key: str) -> float:
        """0 when the request may go ahead, else the seconds until it could (the request is counted either way)."""
        keys = [f"{self.prefix}:{key}", f"{self.prefix}:usage:{key}"]
        return int(self._take(keys=keys, args=[self.rate, self.burst])) / 1000.0

    def usage(self, key_ids: Sequence[str]) -> dict[str, KeyUsage]:
        """Requests each key made through every process (and how many were refused), and when it was last used."""
        pipe = self.client.pipeline()
        for key_id in key_ids:
            pipe.hgetall(f"{self.prefix}:usage:{key_id}")
        found = {}
        for key_id, raw in zip(key_ids, pipe.execute(), strict=True):
            fields = {k.decode() if isinstance(k, bytes) else k: v for k, v in raw.items()}
            if fields:
                found[key_id] = KeyUsage(int(fields.get("requests", 0)), int(fields.get("limited", 0)),
                                         float(fields.get("last", 0)))  # fmt: skip
        return found


class RedisResultCache:
    """The :class:`~quarry.cache.results.ResultCache` interface over Redis (entries bounded by TTL; Redis's
    own ``maxmemory`` policy bounds the total)."""

    def __init__(self, client: Any, config: ResultCacheConfig, *, prefix: str = "quarry:results") -> None:
        self.client, self.config, self.prefix = client, config, prefix

    @property
    def enabled(self) -> bool:
        return self.config.enabled and self.config.max_entries > 0 and self.config.ttl_s > 0

    def _key(self, key: Hashable) -> str:
        return f"{self.prefix}:{hashlib.sha256(repr(key).encode()).hexdigest()}"

    def get(self, key: Hashable) -> bytes | None:
        if not self.enabled:
            return None
        value = self.client.get(self._key(key))
        self.client.incr(f"{self.prefix}#{'hits' if value is not None else 'misses'}")
        return bytes(value) if value is not None else None

    def put(self, key: Hashable, value: bytes) -> None:
        if not self.enabled or len(value) > self.config.max_bytes // 4:
            return
        self.client.set(self._key(key), value, px=max(1, int(self.config.ttl_s * 1000)))

    def clear(self) -> None:
        for found in self.client.scan_iter(match=f"{self.prefix}:*", count=500):
            self.client.delete(found)

    def stats(self) -> ResultCacheStats:
        hits, misses = (int(self.client.get(f"{self.prefix}#{name}") or 0) for name in ("hits", "misses"))
        return ResultCacheStats(hits, misses, -1, -1)  # entries and bytes: see Redis INFO
