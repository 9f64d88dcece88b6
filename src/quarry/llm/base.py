"""The chat-model seam: one protocol, its value types, and layered call settings.

A :class:`ChatModel` turns a list of :class:`~quarry.types.Message` into either one
:class:`Completion` (``complete``) or a stream of typed events (``stream``). Providers speak one wire
format each; retries, fallback, metering, budgets and tracing *wrap* a model (see :mod:`quarry.llm.wrappers`)
and are ChatModels themselves, so they compose in any order.

Semantics every implementation keeps:

- ``settings`` is merged over the model's own defaults with :func:`merge` (``None`` fields = unset).
- ``tools`` offers functions the model may call; calls come back as ``Completion.tool_calls`` (and as
  :class:`ToolCallEvent` when streaming) with ``finish_reason == "tool_calls"``.
- ``response_schema`` (a JSON schema) asks for output that validates against it; a model with
  ``supports_json_schema`` constrains decoding, others may ignore it (use
  :func:`quarry.llm.complete_structured`, which validates and re-asks).
- A stream yields zero or more :class:`TextDelta` / :class:`ToolCallEvent`, then exactly one
  :class:`UsageEvent`, then exactly one :class:`Done`. Closing the iterator early releases the connection.
- Failures raise :class:`~quarry.errors.ProviderError` (or a subclass); nothing returns half a result.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Protocol, runtime_checkable

from quarry.types import Message, ToolCall, Usage

__all__ = [
    "DEFAULT_SETTINGS",
    "ChatModel",
    "ChatSettings",
    "Completion",
    "Done",
    "StreamEvent",
    "TextDelta",
    "ToolCallEvent",
    "ToolSpec",
    "UsageEvent",
    "collect",
    "load_model",
    "merge",
]


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """Per-call knobs; ``None`` means "not set at this layer".

    ``timeout_s`` bounds one HTTP attempt; ``max_tokens`` bounds the completion; ``stop`` sequences end
    generation; ``seed`` with ``temperature=0`` makes local generation repeatable.
    """

    temperature: float | None = None
    max_tokens: int | None = None
    timeout_s: float | None = None
    stop: tuple[str, ...] | None = None
    seed: int | None = None


DEFAULT_SETTINGS = ChatSettings(temperature=0.0, max_tokens=512, timeout_s=60.0)


def merge(*layers: ChatSettings | None) -> ChatSettings:
    """Merge settings layers, later ones winning field by field (model defaults < config < per call)."""
    values: dict[str, Any] = {}
    for layer in layers:
        if layer is None:
            continue
        for f in fields(layer):
            value = getattr(layer, f.name)
            if value is not None:
                values[f.name] = value
    return ChatSettings(**values)


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A function the model may call: ``parameters`` is the JSON schema of its arguments object."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True, slots=True)
class Completion:
    """One answer.

    ``model`` names the model that actually answered (after any fallback); ``finish_reason`` is
    ``"stop"``, ``"length"``, ``"tool_calls"`` or the provider's own word. ``latency_s`` is wall time of
    the whole call (all attempts), ``ttft_s`` the time to the first token when streamed. ``attempts``
    counts HTTP attempts (set by the retrying wrapper) and ``fallback_reason`` says why earlier models in
    a fallback chain were skipped (``None`` when the first model answered).
    """

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    finish_reason: str = "stop"
    latency_s: float = 0.0
    ttft_s: float | None = None
    attempts: int = 1
    fallback_reason: str | None = None

    def message(self) -> Message:
        """This completion as the assistant turn to append to a conversation."""
        return Message("assistant", self.text, tool_calls=self.tool_calls)


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallEvent:
    """A complete tool call (providers stream argument fragments; adapters assemble them first)."""

    call: ToolCall


@dataclass(frozen=True, slots=True)
class UsageEvent:
    usage: Usage


@dataclass(frozen=True, slots=True)
class Done:
    """The end of a stream: why it ended, which model answered, and why earlier models were skipped."""

    finish_reason: str
    model: str = ""
    fallback_reason: str | None = None


StreamEvent = TextDelta | ToolCallEvent | UsageEvent | Done


@runtime_checkable
class ChatModel(Protocol):
    """A chat model. ``model_id`` is ``provider:model``; see the module docstring for the semantics."""

    @property
    def model_id(self) -> str: ...

    @property
    def supports_json_schema(self) -> bool:
        """True when ``response_schema`` constrains decoding (the output is then schema-shaped)."""
        ...

    def complete(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Completion: ...

    def stream(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Iterator[StreamEvent]: ...

    def close(self) -> None:
        """Release clients and connections; the model is unusable afterwards."""
        ...


def collect(events: Iterable[StreamEvent], *, model: str = "", started: float | None = None) -> Completion:
    """Fold a stream into the :class:`Completion` it amounts to (``started`` = ``perf_counter`` at the call)."""
    began = time.perf_counter() if started is None else started
    parts: list[str] = []
    calls: list[ToolCall] = []
    usage = Usage(model=model)
    finish, answered_by, ttft, reason = "stop", model, None, None
    for event in events:
        if ttft is None and isinstance(event, TextDelta | ToolCallEvent):
            ttft = time.perf_counter() - began
        if isinstance(event, TextDelta):
            parts.append(event.text)
        elif isinstance(event, ToolCallEvent):
            calls.append(event.call)
        elif isinstance(event, UsageEvent):
            usage = event.usage
        else:
            finish, answered_by, reason = event.finish_reason, event.model or model, event.fallback_reason
    latency = time.perf_counter() - began
    return Completion("".join(parts), tuple(calls), usage, answered_by, finish, latency, ttft, fallback_reason=reason)


def load_model(model: object) -> float:
    """Load ``model`` now if it loads lazily (a local model starting its server); the seconds it took.

    Wrappers are looked through (``inner``, and the first of a fallback chain's ``models``); a provider
    without a ``load`` method (a remote API) costs nothing here and returns 0."""
    seen = 0
    while seen < 16:
        load = getattr(model, "load", None)
        if callable(load):
            return float(load())
        inner = getattr(model, "inner", None)
        if inner is None:
            models = getattr(model, "models", None)
            inner = models[0] if models else None
        if inner is None:
            return 0.0
        model, seen = inner, seen + 1
    return 0.0
