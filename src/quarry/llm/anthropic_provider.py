"""Anthropic's Messages API via the official ``anthropic`` SDK (``max_retries=0``: retries are ours).

Mapping: ``system`` messages are joined into the top-level ``system`` prompt; an assistant turn's tool
calls become ``tool_use`` blocks; ``tool`` messages become ``tool_result`` blocks in a user turn
(consecutive ones merged, as the API requires alternating roles). ``stop_reason`` maps to Quarry's
finish reasons (``end_turn``→``stop``, ``max_tokens``→``length``, ``tool_use``→``tool_calls``).
``temperature`` and ``seed`` are not sent: the current Messages API (SDK 2.x) accepts neither.
Structured output is not constrained natively here (``supports_json_schema`` is False): use
:func:`quarry.llm.complete_structured`, which validates and re-asks.

The SDK is an optional extra (``pip install 'quarry[anthropic]'``): it is imported when a model is
built, never when ``quarry.llm`` is imported, and a missing SDK is a :class:`ConfigError`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from quarry.errors import ConfigError, ProviderError
from quarry.llm._http import status_error, transport_error
from quarry.llm.base import (
    DEFAULT_SETTINGS,
    ChatSettings,
    Completion,
    Done,
    StreamEvent,
    TextDelta,
    ToolCallEvent,
    ToolSpec,
    UsageEvent,
    merge,
)
from quarry.types import Message, ToolCall, Usage

if TYPE_CHECKING:
    import anthropic

__all__ = ["AnthropicChatModel", "to_anthropic_messages"]

PROVIDER = "anthropic"
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}
_INSTALL_HINT = "pip install 'quarry[anthropic]'"


def _blocks(message: Message) -> list[dict[str, Any]]:
    if message.role == "tool":
        return [{"type": "tool_result", "tool_use_id": message.tool_call_id or "", "content": message.content}]
    blocks: list[dict[str, Any]] = [{"type": "text", "text": message.content}] if message.content else []
    for call in message.tool_calls:
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": json.loads(call.arguments)})
    return blocks


def to_anthropic_messages(messages: Sequence[Message]) -> tuple[str, list[dict[str, Any]]]:
    """``(system, messages)`` in Anthropic's wire format."""
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    wire: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        role = "assistant" if m.role == "assistant" else "user"
        if wire and wire[-1]["role"] == role:
            wire[-1]["content"].extend(_blocks(m))
        else:
            wire.append({"role": role, "content": _blocks(m)})
    return system, wire


class AnthropicChatModel:
    """A Claude model; the key comes from ``api_key_env`` (default ``ANTHROPIC_API_KEY``)."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "ANTHROPIC_API_KEY",
        defaults: ChatSettings | None = None,
    ) -> None:
        try:
            import anthropic
        except ImportError as exc:
            raise ConfigError(
                "the anthropic provider needs the anthropic SDK, which is not installed (optional extra)",
                key="llm.provider",
                hint=_INSTALL_HINT,
            ) from exc
        key = os.environ.get(api_key_env)
        if not key:
            raise ConfigError(
                f"no API key for anthropic: {api_key_env} is not set",
                key="llm.api_key_env",
                hint=f"export {api_key_env}=…",
            )
        self.model = model
        self.api_key_env = api_key_env
        self.defaults = merge(DEFAULT_SETTINGS, defaults)
        self._client: anthropic.Anthropic = anthropic.Anthropic(
            api_key=key, base_url=base_url, max_retries=0, timeout=self.defaults.timeout_s
        )

    @property
    def model_id(self) -> str:
        return f"{PROVIDER}:{self.model}"

    @property
    def supports_json_schema(self) -> bool:
        return False

    def close(self) -> None:
        self._client.close()

    def _request(
        self, messages: Sequence[Message], settings: ChatSettings | None, tools: Sequence[ToolSpec]
    ) -> dict[str, Any]:
        s = merge(self.defaults, settings)
        system, wire = to_anthropic_messages(messages)
        request: dict[str, Any] = {
            "model": self.model,
            "messages": wire,
            "max_tokens": s.max_tokens,
            "timeout": s.timeout_s,
        }
        if system:
            request["system"] = system
        if s.stop:
            request["stop_sequences"] = list(s.stop)
        if tools:
            request["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in tools
            ]
        return request

    def _error(self, exc: Exception) -> ProviderError:
        import anthropic

        if isinstance(exc, anthropic.APIStatusError):
            return status_error(
                PROVIDER,
                exc.status_code,
                exc.message,
                retry_after=exc.response.headers.get("retry-after"),
                api_key_env=self.api_key_env,
            )
        return transport_error(PROVIDER, exc, timeout=isinstance(exc, anthropic.APITimeoutError))

    def complete(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Completion:
        import anthropic

        began = time.perf_counter()
        try:
            response = self._client.messages.create(**self._request(messages, settings, tools))
        except (anthropic.APIError, httpx.TransportError) as exc:
            raise self._error(exc) from exc
        texts: list[str] = []
        calls: list[ToolCall] = []
        for block in response.content:
            if block.type == "text":
                texts.append(block.text)
            elif block.type == "tool_use":
                calls.append(ToolCall(block.id, block.name, json.dumps(block.input)))
        usage = Usage(response.usage.input_tokens, response.usage.output_tokens, model=self.model)
        return Completion(
            text="".join(texts),
            tool_calls=tuple(calls),
            usage=usage,
            model=self.model,
            finish_reason=_FINISH.get(response.stop_reason or "end_turn", str(response.stop_reason)),
            latency_s=time.perf_counter() - began,
        )

    def stream(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Iterator[StreamEvent]:
        import anthropic

        try:
            events = self._client.messages.create(**self._request(messages, settings, tools), stream=True)
        except (anthropic.APIError, httpx.TransportError) as exc:
            raise self._error(exc) from exc
        return self._events(events)

    def _events(self, events: Any) -> Iterator[StreamEvent]:
        import anthropic

        state = _StreamState()
        try:
            for event in events:
                yield from state.feed(event)
        except (anthropic.APIError, httpx.TransportError) as exc:
            raise self._error(exc) from exc
        finally:
            events.close()
        yield UsageEvent(Usage(state.input_tokens, state.output_tokens, model=self.model))
        yield Done(_FINISH.get(state.stop_reason, state.stop_reason), self.model)


class _StreamState:
    """Folds Anthropic's SSE events (message_start, content_block_*, message_delta) into Quarry events."""

    def __init__(self) -> None:
        self.input_tokens = 0
        self.output_tokens = 0
        self.stop_reason = "end_turn"
        self._tool: dict[str, str] | None = None

    def feed(self, event: Any) -> Iterator[StreamEvent]:
        kind = event.type
        if kind == "message_start":
            self.input_tokens = event.message.usage.input_tokens
            self.output_tokens = event.message.usage.output_tokens
        elif kind == "content_block_start" and event.content_block.type == "tool_use":
            self._tool = {"id": event.content_block.id, "name": event.content_block.name, "arguments": ""}
        elif kind == "content_block_delta" and event.delta.type == "text_delta":
            yield TextDelta(event.delta.text)
        elif kind == "content_block_delta" and event.delta.type == "input_json_delta" and self._tool is not None:
            self._tool["arguments"] += event.delta.partial_json
        elif kind == "content_block_stop" and self._tool is not None:
            tool, self._tool = self._tool, None
            yield ToolCallEvent(ToolCall(tool["id"], tool["name"], tool["arguments"] or "{}"))
        elif kind == "message_delta":
            self.stop_reason = event.delta.stop_reason or self.stop_reason
            self.output_tokens = event.usage.output_tokens or self.output_tokens
