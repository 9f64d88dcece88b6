"""One retry policy for every HTTP client (LLM providers, remote embedders): what is retried and how long to wait.

Retried: HTTP 408/409/425/429/5xx/529 and transport failures (timeouts, refused or dropped connections). Not
retried: other 4xx (a bad key or request will not get better). The wait before retry *n* is
``uniform(0, min(max_backoff_s, backoff_s * 2**(n-1)))`` ("full jitter", which spreads clients apart best),
or what a ``Retry-After`` header asked for (seconds or an HTTP-date), capped at ``max_retry_after_s``.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "parse_retry_after"]

RETRYABLE_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    backoff_s: float = 0.5
    max_backoff_s: float = 20.0
    max_retry_after_s: float = 60.0
    rng: Callable[[], float] = field(default=random.random, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    @staticmethod
    def retryable(status: int | None) -> bool:
        """Whether another attempt may succeed: ``status`` None is a transport failure (timeout, connection)."""
        return status is None or status in RETRYABLE_STATUSES

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after_s)
        return float(self.rng() * min(self.max_backoff_s, self.backoff_s * 2.0 ** (attempt - 1)))


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header: delta-seconds or an HTTP-date; ``None`` if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
