"""An ``llm`` span per call on a :class:`~quarry.tracing.Trace`, as a wrapper around any :class:`ChatModel`.

The trace is passed in, or a callable returns the current one (``None`` = not tracing: calls pass
straight through). Calls share the trace's ``llm`` stage span (see :meth:`Trace.stage`): its duration and
call count accumulate, and so do the counters ``prompt_tokens``, ``completion_tokens``, ``cost_usd``,
``latency_s`` and ``ttft_s``; ``attributes["model"]`` is the last model that answered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from quarry.llm.base import (
    ChatModel,
    ChatSettings,
    Completion,
    Done,
    StreamEvent,
    TextDelta,
    ToolCallEvent,
    ToolSpec,
    UsageEvent,
)
from quarry.llm.wrappers import Delegating
from quarry.tracing import Span, Trace
from quarry.types import Message, Usage

__all__ = ["Traced"]

STAGE = "llm"


def _record(span: Span, model: str, usage: Usage, latency_s: float, ttft_s: float | None) -> None:
    span.attributes["model"] = model
    span.add(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cost_usd=usage.cost_usd,
        latency_s=latency_s,
    )
    if ttft_s is not None:
        span.add(ttft_s=ttft_s)


class Traced(Delegating):
    def __init__(self, inner: ChatModel, trace: Trace | Callable[[], Trace | None]) -> None:
        super().__init__(inner)
        self._trace = trace

    def _current(self) -> Trace | None:
        return self._trace if isinstance(self._trace, Trace) else self._trace()

    def complete(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Completion:
        trace = self._current()
        if trace is None:
            return self.inner.complete(messages, settings=settings, tools=tools, response_schema=response_schema)
        with trace.stage(STAGE) as span:
            done = self.inner.complete(messages, settings=settings, tools=tools, response_schema=response_schema)
            _record(span, done.model, done.usage, done.latency_s, done.ttft_s)
        return done

    def stream(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Iterator[StreamEvent]:
        trace = self._current()
        events = self.inner.stream(messages, settings=settings, tools=tools, response_schema=response_schema)
        return events if trace is None else self._traced(trace, events)

    def _traced(self, trace: Trace, events: Iterator[StreamEvent]) -> Iterator[StreamEvent]:
        began = time.perf_counter()
        ttft: float | None = None
        usage = Usage()
        with trace.stage(STAGE) as span:
            for event in events:
                if ttft is None and isinstance(event, TextDelta | ToolCallEvent):
                    ttft = time.perf_counter() - began
                if isinstance(event, UsageEvent):
                    usage = event.usage
                if isinstance(event, Done):
                    _record(span, event.model or usage.model, usage, time.perf_counter() - began, ttft)
                yield event
