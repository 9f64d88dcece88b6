"""Who is calling and what they may see: key checks, per-key rate limits, the visibility filter.

Every caller holds the principals of its key plus ``public``. The principal ``*`` sees every document
(an operator's key); everyone else searches with ``AnyOf("principals", theirs)`` ANDed with their own
filter, so the restriction applies inside both search paths, before ranking.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from quarry.api.errors import ApiError
from quarry.cache.results import KeyUsage
from quarry.pipeline.access import ALL, PRINCIPALS, PUBLIC, visibility_filter
from quarry.settings import AccessSettings
from quarry.stores.filters import And, Filter
from quarry.stores.keys import ApiKey, KeyStore, Scope

__all__ = ["ALL", "PUBLIC", "Caller", "RateLimiter", "authenticate"]


@dataclass(frozen=True, slots=True)
class Caller:
    key: ApiKey
    access: AccessSettings

    @property
    def principals(self) -> tuple[str, ...]:
        return tuple(sorted({*self.key.principals, PUBLIC}))

    @property
    def sees_everything(self) -> bool:
        return ALL in self.key.principals

    @property
    def operator(self) -> bool:
        """An admin key for every collection: sees every trace, job and the process metrics. An admin key limited to
        some collections sees only what belongs to them."""
        return self.key.allows("admin") and not self.key.collections

    def oversees(self, collection: object) -> bool:
        """Whether this key may look at another key's trace or job of ``collection`` (admin keys only)."""
        return self.key.allows("admin") and isinstance(collection, str) and self.key.may_use(collection)

    def require(self, scope: Scope, collection: str | None = None) -> None:
        """403 unless the key has ``scope`` (and may use ``collection``). The message is the same whether
        or not the collection exists."""
        if not self.key.allows(scope):
            raise ApiError(403, "forbidden", f"this key's scope is {self.key.scope}; this needs {scope}")
        if collection is not None and not self.key.may_use(collection):
            raise ApiError(403, "forbidden", "this key may not use that collection")

    def visibility(self) -> Filter | None:
        """The filter every search and answer of this caller runs with (``None``: sees everything)."""
        return visibility_filter(self.principals, unlabelled_public=self.access.unlabelled_public)

    def restrict(self, where: Filter | None) -> Filter | None:
        visible = self.visibility()
        if visible is None:
            return where
        return visible if where is None else And(visible, where)

    def may_see(self, metadata: Mapping[str, Any]) -> bool:
        """The same rule as :meth:`visibility`, for one document's metadata."""
        if self.sees_everything:
            return True
        labels = metadata.get(PRINCIPALS)
        if labels is None:
            return self.access.unlabelled_public
        values = labels if isinstance(labels, list | tuple) else [labels]
        return any(isinstance(v, str) and v in self.principals for v in values)

    def show_metadata(self, metadata: Mapping[str, Any]) -> dict[str, Any]:
        """Metadata as shown to this caller: a document's principals only to callers who see everything."""
        return dict(metadata) if self.sees_everything else {k: v for k, v in metadata.items() if k != PRINCIPALS}


class Limiter(Protocol):
    """A per-key request budget that also counts each key's requests: :class:`RateLimiter` in process, or one
    shared by every process in Redis."""

    def take(self, key: str) -> float:
        """0 when the request may go ahead, else the seconds until it could."""
        ...

    def usage(self, key_ids: Sequence[str]) -> dict[str, KeyUsage]:
        """The keys' counts (keys never seen are absent)."""
        ...


class RateLimiter:
    """A token bucket per key: ``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._counts: dict[str, tuple[int, int, float]] = {}  # key → (requests, refused, last epoch s)
        self._lock = threading.Lock()

    def usage(self, key_ids: Sequence[str]) -> dict[str, KeyUsage]:
        """This process's counts (with ``[api] redis_url``, the fleet's)."""
        with self._lock:
            return {k: KeyUsage(*self._counts[k]) for k in key_ids if k in self._counts}

    def take(self, key: str) -> float:
        """0 when the request may go ahead, else the seconds until it could."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            requests, refused, _ = self._counts.get(key, (0, 0, 0.0))
            allowed = tokens >= 1.0
            self._counts[key] = (requests + 1, refused + (not allowed), time.time())
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            return 0.0 if allowed else (1.0 - tokens) / self.rate


def authenticate(keys: KeyStore, limiter: Limiter, access: AccessSettings, token: str | None) -> Caller:
    """The caller for a bearer ``token``: 401 without a valid key, 429 over its rate."""
    if not token:
        raise ApiError(
            401,
            "unauthenticated",
            "send an API key as 'Authorization: Bearer <key>' (create one: quarry keys create)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    key = keys.verify(token)
    if key is None:
        raise ApiError(
            401,
            "unauthenticated",
            "the API key is not valid (unknown or revoked)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    wait = limiter.take(key.id)
    if wait > 0:
        raise ApiError(
            429,
            "rate_limited",
            "too many requests for this key; retry later",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return Caller(key, access)
