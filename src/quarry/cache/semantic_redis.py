"""The answer cache in Redis, shared by every replica (``[cache] url = "redis://…"``).

Layout under ``prefix`` (default ``quarry:answers``): ``<prefix>:k:<key>`` is a list of entries, newest first
(each a JSON object with the vector and payload base64-encoded), trimmed to ``max_entries_per_key`` and expiring
``ttl_s`` after its last write; ``<prefix>:c:<collection>`` is a hash from each key of the collection to the
generation it was written at, so ``put`` can drop keys of older generations and ``clear`` can find them;
``<prefix>:hits`` / ``<prefix>:misses`` are counters.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from quarry.cache.semantic import CacheCounts, Entry

__all__ = ["RedisAnswerCache"]


class RedisAnswerCache:
    name = "redis"

    def __init__(self, client: Any, *, ttl_s: float, prefix: str = "quarry:answers",
                 max_entries_per_key: int = 8) -> None:  # fmt: skip
        self.client, self.prefix = client, prefix
        self.ttl = max(1, int(ttl_s))
        self.max_entries_per_key = max_entries_per_key

    @classmethod
    def from_url(cls, url: str, *, ttl_s: float) -> RedisAnswerCache:
        from quarry.cache.shared_redis import redis_client

        return cls(redis_client(url, "cache.url"), ttl_s=ttl_s)

    def _k(self, key: str) -> str:
        return f"{self.prefix}:k:{key}"

    def _c(self, collection: str) -> str:
        return f"{self.prefix}:c:{collection}"

    def entries(self, key: str) -> list[Entry]:
        found = []
        for raw in self.client.lrange(self._k(key), 0, -1):
            data = json.loads(raw)
            vector = np.frombuffer(base64.b64decode(data["v"]), dtype=np.float32)
            found.append(Entry(data["q"], vector, base64.b64decode(data["p"]), float(data["t"])))
        return found

    def put(self, key: str, collection: str, generation: int, entry: Entry) -> None:
        stale = [k for k, g in self.client.hgetall(self._c(collection)).items() if int(g) < generation]
        record = json.dumps({
            "q": entry.question, "t": entry.created,
            "v": base64.b64encode(np.asarray(entry.vector, dtype=np.float32).tobytes()).decode(),
            "p": base64.b64encode(entry.payload).decode(),
        })  # fmt: skip
        pipe = self.client.pipeline()
        for old in stale:
            pipe.delete(self._k(old.decode() if isinstance(old, bytes) else old))
            pipe.hdel(self._c(collection), old)
        pipe.lpush(self._k(key), record)
        pipe.ltrim(self._k(key), 0, self.max_entries_per_key - 1)
        pipe.expire(self._k(key), self.ttl)
        pipe.hset(self._c(collection), key, generation)
        pipe.sadd(f"{self.prefix}:collections", collection)
        pipe.execute()

    def count(self, hit: bool) -> None:
        self.client.incr(f"{self.prefix}:{'hits' if hit else 'misses'}")

    def counts(self) -> CacheCounts:
        per: dict[str, int] = {}
        size = 0
        for raw in self.client.smembers(f"{self.prefix}:collections"):
            collection = raw.decode() if isinstance(raw, bytes) else raw
            n = 0
            for key in self.client.hkeys(self._c(collection)):
                name = self._k(key.decode() if isinstance(key, bytes) else key)
                n += int(self.client.llen(name))
                size += int(self.client.memory_usage(name) or 0)
            if n:
                per[collection] = n
        hits = int(self.client.get(f"{self.prefix}:hits") or 0)
        misses = int(self.client.get(f"{self.prefix}:misses") or 0)
        return CacheCounts(sum(per.values()), size, hits, misses, per)

    def clear(self, collection: str | None = None) -> int:
        names = [collection] if collection is not None else [
            raw.decode() if isinstance(raw, bytes) else raw
            for raw in self.client.smembers(f"{self.prefix}:collections")
        ]  # fmt: skip
        dropped = 0
        for name in names:
            for key in self.client.hkeys(self._c(name)):
                entry_list = self._k(key.decode() if isinstance(key, bytes) else key)
                dropped += int(self.client.llen(entry_list))
                self.client.delete(entry_list)
            self.client.delete(self._c(name))
            self.client.srem(f"{self.prefix}:collections", name)
        if collection is None:
            self.client.delete(f"{self.prefix}:hits", f"{self.prefix}:misses")
        return dropped

    def close(self) -> None:
        self.client.close()
