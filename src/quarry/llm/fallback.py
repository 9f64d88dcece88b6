"""Fallback across models: try each in order until one answers.

A model is skipped when it raises :class:`~quarry.errors.ProviderError` (after its own retries, when it
is wrapped in :class:`~quarry.llm.Retrying`); budget and config errors propagate at once. The answer
records which model answered (``Completion.model``) and why the earlier ones were skipped
(``Completion.fallback_reason``; ``Done.fallback_reason`` when streaming). When every model fails, the
last error is raised with a note per failure. A stream falls back only until its first event arrives.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from quarry.errors import ProviderError
from quarry.llm.base import ChatModel, ChatSettings, Completion, Done, StreamEvent, ToolSpec
from quarry.types import Message

__all__ = ["Fallback"]


def _reason(model: ChatModel, exc: ProviderError) -> str:
    status = f"HTTP {exc.status}" if exc.status is not None else type(exc).__name__
    return f"{model.model_id} failed ({status}): {exc.message}"


class Fallback:
    """``models[0]`` first, then each following model in turn."""

    def __init__(self, models: Sequence[ChatModel]) -> None:
        if not models:
            raise ValueError("Fallback needs at least one model")
        self.models = list(models)

    @property
    def model_id(self) -> str:
        return self.models[0].model_id

    @property
    def supports_json_schema(self) -> bool:
        return all(m.supports_json_schema for m in self.models)

    def close(self) -> None:
        for model in self.models:
            model.close()

    def _fail(self, reasons: list[str], exc: ProviderError) -> ProviderError:
        for reason in reasons:
            exc.add_note(f"fallback: {reason}")
        return exc

    def complete(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Completion:
        began = time.perf_counter()
        reasons: list[str] = []
        for index, model in enumerate(self.models):
            try:
                done = model.complete(messages, settings=settings, tools=tools, response_schema=response_schema)
            except ProviderError as exc:
                reasons.append(_reason(model, exc))
                if index == len(self.models) - 1:
                    raise self._fail(reasons, exc) from None
                continue
            return replace(done, fallback_reason="; ".join(reasons) or None, latency_s=time.perf_counter() - began)
        raise AssertionError("unreachable")

    def stream(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Iterator[StreamEvent]:
        reasons: list[str] = []
        for index, model in enumerate(self.models):
            try:
                events = model.stream(messages, settings=settings, tools=tools, response_schema=response_schema)
                first = next(events, None)
            except ProviderError as exc:
                reasons.append(_reason(model, exc))
                if index == len(self.models) - 1:
                    raise self._fail(reasons, exc) from None
                continue
            return _annotated(first, events, "; ".join(reasons) or None)
        raise AssertionError("unreachable")


def _annotated(first: StreamEvent | None, rest: Iterator[StreamEvent], reason: str | None) -> Iterator[StreamEvent]:
    def mark(event: StreamEvent) -> StreamEvent:
        return replace(event, fallback_reason=reason) if isinstance(event, Done) and reason else event

    try:
        if first is not None:
            yield mark(first)
            for event in rest:
                yield mark(event)
    finally:
        close = getattr(rest, "close", None)
        if close is not None:
            close()
