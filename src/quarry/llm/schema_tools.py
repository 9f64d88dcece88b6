"""Tool calling for models without native tool support, by constraining output to a tool-choice schema.

Small local models (SmolLM2's chat template has no tool section) do not call tools dependably, but they
do follow a JSON schema when decoding is constrained. :class:`SchemaTools` wraps such a model: when tools
are offered it describes them in a system message and asks for JSON matching one of::

    {"tool": "<name>", "arguments": {...that tool's parameters...}}
    {"answer": "<text>"}                 (only when allow_text=True)

and turns the result back into :class:`~quarry.types.ToolCall` s, so callers see the same
``Completion.tool_calls`` as from a native provider. Earlier tool calls and results in the conversation
are rewritten into plain assistant/user turns the chat template understands. Bound string lengths in tool
parameters (``maxLength``) — an unbounded string can run to ``max_tokens``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
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
    collect,
)
from quarry.llm.wrappers import Delegating
from quarry.types import Message, ToolCall

__all__ = ["SchemaTools", "tool_choice_schema"]

ANSWER_MAX_CHARS = 2000
MAX_PARALLEL_CALLS = 8
# small models otherwise repeat the call they just made: the result turn says what to do with it
AFTER_RESULT = "Use this result: answer the question now, or call a different tool if something is still missing."


def tool_choice_schema(tools: Sequence[ToolSpec], *, allow_text: bool = True, parallel: bool = False) -> dict[str, Any]:
    """The JSON schema of "call one of ``tools``" (with ``parallel``: "call one or more of them at once",
    ``{"calls": [...]}``), or "answer in text" when ``allow_text``."""
    options: list[dict[str, Any]] = [
        {
            "type": "object",
            "properties": {"tool": {"const": t.name}, "arguments": t.parameters},
            "required": ["tool", "arguments"],
        }
        for t in tools
    ]
    if parallel:
        one = options[0] if len(options) == 1 else {"anyOf": options}
        many = {"type": "array", "items": one, "minItems": 1, "maxItems": MAX_PARALLEL_CALLS}
        options = [{"type": "object", "properties": {"calls": many}, "required": ["calls"]}]
    if allow_text:
        options.append(
            {
                "type": "object",
                "properties": {"answer": {"type": "string", "maxLength": ANSWER_MAX_CHARS}},
                "required": ["answer"],
            }
        )
    return options[0] if len(options) == 1 else {"anyOf": options}


def _instructions(tools: Sequence[ToolSpec], allow_text: bool, parallel: bool = False) -> str:
    lines = ["You can call these tools:"]
    lines += [f"- {t.name}: {t.description} Arguments schema: {json.dumps(t.parameters)}" for t in tools]
    if parallel:
        lines.append('Reply with JSON only: {"calls": [{"tool": "<name>", "arguments": {...}}, ...]} '
                     "(one entry per call; several when the request needs several)")  # fmt: skip
    else:
        lines.append('Reply with JSON only: {"tool": "<name>", "arguments": {...}}')
    if allow_text:
        lines.append('or, when no tool is needed, {"answer": "<your answer>"}.')
    return "\n".join(lines)


def _plain_history(messages: Sequence[Message]) -> list[Message]:
    names: dict[str, str] = {}
    plain: list[Message] = []
    for m in messages:
        if m.role == "assistant" and m.tool_calls:
            for c in m.tool_calls:
                names[c.id] = c.name
            content = "\n".join(
                json.dumps({"tool": c.name, "arguments": json.loads(c.arguments or "{}")}) for c in m.tool_calls
            )
            plain.append(Message("assistant", content))
        elif m.role == "tool":
            name = names.get(m.tool_call_id or "", "the tool")
            plain.append(Message("user", f"Result of {name}: {m.content}\n{AFTER_RESULT}"))
        else:
            plain.append(m)
    return plain


def _with_instructions(messages: list[Message], text: str) -> list[Message]:
    if messages and messages[0].role == "system":
        return [Message("system", f"{messages[0].content}\n\n{text}"), *messages[1:]]
    return [Message("system", text), *messages]


def _decode(completion: Completion) -> Completion:
    try:
        data = json.loads(completion.text)
    except json.JSONDecodeError:
        return completion
    listed = data.get("calls") if isinstance(data, dict) else None
    requested: list[Any] = listed if isinstance(listed, list) else [data]
    calls = tuple(
        ToolCall(f"call_{uuid.uuid4().hex[:12]}", item["tool"], json.dumps(item.get("arguments", {})))
        for item in requested
        if isinstance(item, dict) and isinstance(item.get("tool"), str)
    )
    if calls:
        return replace(completion, text="", tool_calls=calls, finish_reason="tool_calls")
    if isinstance(data, dict) and isinstance(data.get("answer"), str):
        return replace(completion, text=data["answer"])
    return completion


class SchemaTools(Delegating):
    """Wraps ``inner`` (which must support ``response_schema``) to offer tools through a constrained schema."""

    def __init__(self, inner: ChatModel, *, allow_text: bool = True, parallel: bool = False) -> None:
        super().__init__(inner)
        self.allow_text, self.parallel = allow_text, parallel

    def complete(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Completion:
        history = _plain_history(messages)
        if not tools:
            return self.inner.complete(history, settings=settings, response_schema=response_schema)
        prompt = _with_instructions(history, _instructions(tools, self.allow_text, self.parallel))
        schema = tool_choice_schema(tools, allow_text=self.allow_text, parallel=self.parallel)
        return _decode(self.inner.complete(prompt, settings=settings, response_schema=schema))

    def stream(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Iterator[StreamEvent]:
        history = _plain_history(messages)
        if not tools:
            return self.inner.stream(history, settings=settings, response_schema=response_schema)
        return self._tool_events(history, settings, tools)

    def _tool_events(
        self, history: list[Message], settings: ChatSettings | None, tools: Sequence[ToolSpec]
    ) -> Iterator[StreamEvent]:
        prompt = _with_instructions(history, _instructions(tools, self.allow_text, self.parallel))
        schema = tool_choice_schema(tools, allow_text=self.allow_text, parallel=self.parallel)
        done = _decode(collect(self.inner.stream(prompt, settings=settings, response_schema=schema)))
        if done.text:
            yield TextDelta(done.text)
        for call in done.tool_calls:
            yield ToolCallEvent(call)
        yield UsageEvent(done.usage)
        yield Done(done.finish_reason, done.model)
