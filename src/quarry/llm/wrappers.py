"""The base of every ChatModel wrapper (retries, tracing, metering, budgets, tool emulation).

A wrapper holds ``inner`` and passes everything through; subclasses override only what they change
(usually ``complete`` and ``stream``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from quarry.llm.base import ChatModel, ChatSettings, Completion, StreamEvent, ToolSpec
from quarry.types import Message

__all__ = ["Delegating"]


class Delegating:
    """A ChatModel that is ``inner`` until a subclass says otherwise."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def supports_json_schema(self) -> bool:
        return self.inner.supports_json_schema

    def close(self) -> None:
        self.inner.close()

    def complete(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Completion:
        return self.inner.complete(messages, settings=settings, tools=tools, response_schema=response_schema)

    def stream(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Iterator[StreamEvent]:
        return self.inner.stream(messages, settings=settings, tools=tools, response_schema=response_schema)
