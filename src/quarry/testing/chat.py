"""A scripted :class:`~quarry.llm.ChatModel`: answers from a script and records every call.

Each call consumes one script step::

    model = ScriptedChatModel(["not json", '{"name": "Ada"}'])
    model = ScriptedChatModel([ProviderError("down", provider="x", status=503), "recovered"])
    model = ScriptedChatModel([lambda messages: messages[-1].content.upper()])

A step is a ``str`` (the completion text; usage counted with quicktok), a :class:`Completion` (returned
as is), an exception (raised), or a callable of the messages returning either. When the script runs out,
``default`` answers (an error when there is none). ``stream`` yields the same answer word by word.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from quarry.llm.base import (
    ChatSettings,
    Completion,
    Done,
    StreamEvent,
    TextDelta,
    ToolCallEvent,
    ToolSpec,
    UsageEvent,
)
from quarry.llm.tokens import count_messages, count_tokens
from quarry.types import Message, Usage

__all__ = ["ChatCall", "ScriptStep", "ScriptedChatModel"]

ScriptStep = str | Completion | BaseException | Callable[[Sequence[Message]], "str | Completion"]


@dataclass(frozen=True, slots=True)
class ChatCall:
    """One recorded call."""

    messages: tuple[Message, ...]
    settings: ChatSettings | None
    tools: tuple[ToolSpec, ...]
    response_schema: dict[str, Any] | None
    streamed: bool = False


class ScriptedChatModel:
    def __init__(
        self,
        script: Iterable[ScriptStep] = (),
        *,
        model: str = "scripted",
        supports_json_schema: bool = False,
        default: ScriptStep | None = None,
    ) -> None:
        self.model = model
        self.default = default
        self.calls: list[ChatCall] = []
        self.closed = False
        self._json_schema = supports_json_schema
        self._script: deque[ScriptStep] = deque(script)
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return f"scripted:{self.model}"

    @property
    def supports_json_schema(self) -> bool:
        return self._json_schema

    def add(self, *steps: ScriptStep) -> None:
        with self._lock:
            self._script.extend(steps)

    def close(self) -> None:
        self.closed = True

    def _next(self, call: ChatCall) -> Completion:
        with self._lock:
            self.calls.append(call)
            step = self._script.popleft() if self._script else self.default
        if step is None:
            raise AssertionError(f"{self.model_id}: the script is exhausted after {len(self.calls) - 1} call(s)")
        if isinstance(step, BaseException):
            raise step
        answer = step(call.messages) if callable(step) else step
        if isinstance(answer, Completion):
            return answer if answer.model else replace(answer, model=self.model)
        usage = Usage(count_messages(call.messages, self.model), count_tokens(answer, self.model), model=self.model)
        return Completion(answer, usage=usage, model=self.model)

    def complete(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Completion:
        return self._next(ChatCall(tuple(messages), settings, tuple(tools), response_schema))

    def stream(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Iterator[StreamEvent]:
        done = self._next(ChatCall(tuple(messages), settings, tuple(tools), response_schema, streamed=True))
        return _events(done)


def _events(done: Completion) -> Iterator[StreamEvent]:
    for word in re.findall(r"\s*\S+\s*|\s+", done.text):
        yield TextDelta(word)
    for call in done.tool_calls:
        yield ToolCallEvent(call)
    yield UsageEvent(done.usage)
    yield Done(done.finish_reason, done.model)
