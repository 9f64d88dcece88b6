"""Retries under the shared :class:`~quarry.retries.RetryPolicy`, as a wrapper around any :class:`ChatModel`.

Retried: what the policy retries (HTTP 408/409/425/429/5xx/529), timeouts
(:class:`~quarry.errors.ProviderTimeout`) and failed or dropped connections
(:class:`~quarry.errors.ProviderUnreachable`), waiting with full jitter or what ``Retry-After`` asked for.
``timeout_s`` is a per-attempt default below per-call
settings. The answering completion records ``attempts``; a final failure carries a note with the count.
A stream is retried only until its first event arrives — after that, a failure propagates.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from quarry.errors import ProviderError, ProviderTimeout, ProviderUnreachable
from quarry.llm.base import ChatModel, ChatSettings, Completion, StreamEvent, ToolSpec, merge
from quarry.llm.wrappers import Delegating
from quarry.retries import RetryPolicy
from quarry.types import Message

__all__ = ["Retrying", "is_retryable"]


def is_retryable(exc: ProviderError) -> bool:
    """Whether another attempt may succeed."""
    if isinstance(exc, ProviderTimeout | ProviderUnreachable):
        return True
    return exc.status is not None and RetryPolicy.retryable(exc.status)


class Retrying(Delegating):
    def __init__(
        self,
        inner: ChatModel,
        *,
        max_attempts: int = 3,
        backoff_s: float = 0.5,
        max_backoff_s: float = 20.0,
        max_retry_after_s: float = 60.0,
        timeout_s: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        super().__init__(inner)
        self.policy = RetryPolicy(max_attempts, backoff_s, max_backoff_s, max_retry_after_s, rng)
        self.max_attempts = max_attempts
        self.timeout_s = timeout_s
        self._sleep = sleep

    def delay(self, attempt: int, exc: ProviderError) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return self.policy.delay(attempt, exc.retry_after)

    def _give_up(self, attempt: int, exc: ProviderError) -> bool:
        if attempt >= self.max_attempts or not is_retryable(exc):
            exc.add_note(f"{self.model_id}: gave up after {attempt} attempt(s)")
            return True
        return False

    def complete(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Completion:
        began = time.perf_counter()
        call = merge(ChatSettings(timeout_s=self.timeout_s), settings)
        attempt = 1
        while True:
            try:
                done = self.inner.complete(messages, settings=call, tools=tools, response_schema=response_schema)
            except ProviderError as exc:
                if self._give_up(attempt, exc):
                    raise
                self._sleep(self.delay(attempt, exc))
                attempt += 1
                continue
            return replace(done, attempts=attempt, latency_s=time.perf_counter() - began)

    def stream(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Iterator[StreamEvent]:
        call = merge(ChatSettings(timeout_s=self.timeout_s), settings)
        attempt = 1
        while True:
            try:
                events = self.inner.stream(messages, settings=call, tools=tools, response_schema=response_schema)
                first = next(events, None)
            except ProviderError as exc:
                if self._give_up(attempt, exc):
                    raise
                self._sleep(self.delay(attempt, exc))
                attempt += 1
                continue
            break
        return _chain(first, events)


def _chain(first: StreamEvent | None, rest: Iterator[StreamEvent]) -> Iterator[StreamEvent]:
    try:
        if first is not None:
            yield first
            yield from rest
    finally:
        close = getattr(rest, "close", None)
        if close is not None:
            close()
