"""A chat model for any server speaking OpenAI's ``/v1/chat/completions`` (OpenAI, vLLM, llama.cpp, Ollama…).

Uses the official ``openai`` SDK with ``max_retries=0``: retrying is :class:`quarry.llm.Retrying`'s job, so
one call here is exactly one HTTP attempt. Structured output is sent as
``response_format={"type": "json_schema", ...}``; tools pass through as OpenAI function tools. When the
server reports no usage, tokens are counted with quicktok (see :mod:`quarry.llm.tokens`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import openai

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
from quarry.llm.tokens import count_messages, count_tokens
from quarry.types import Message, ToolCall, Usage

__all__ = ["OpenAICompatibleChatModel", "to_openai_messages"]


def to_openai_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Quarry messages in OpenAI's wire format."""
    wire: list[dict[str, Any]] = []
    for m in messages:
        item: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.tool_calls:
            item["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in m.tool_calls
            ]
        if m.role == "tool":
            item["tool_call_id"] = m.tool_call_id or ""
        wire.append(item)
    return wire


def _tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    return [
        {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
        for t in tools
    ]


class OpenAICompatibleChatModel:
    """One model behind an OpenAI-compatible endpoint; ``base_url`` includes ``/v1``.

    The key is read from ``api_key_env`` (or given as ``api_key``); without either, a ``base_url`` is
    required (local servers need no key) and a placeholder key is sent.
    """

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        api_key: str | None = None,
        provider: str = "openai",
        defaults: ChatSettings | None = None,
        supports_json_schema: bool = True,
    ) -> None:
        key = api_key or os.environ.get(api_key_env)
        if not key and base_url is None:
            raise ConfigError(
                f"no API key for {provider}: {api_key_env} is not set",
                key="llm.api_key_env",
                hint=f"export {api_key_env}=… or set llm.base_url to a local OpenAI-compatible server",
            )
        self.model = model
        self.provider = provider
        self.api_key_env = api_key_env
        self.defaults = merge(DEFAULT_SETTINGS, defaults)
        self._json_schema = supports_json_schema
        self._client = openai.OpenAI(
            api_key=key or "unused",
            base_url=base_url,
            max_retries=0,
            timeout=self.defaults.timeout_s,
        )

    @property
    def model_id(self) -> str:
        return f"{self.provider}:{self.model}"

    @property
    def supports_json_schema(self) -> bool:
        return self._json_schema

    def close(self) -> None:
        self._client.close()

    def _request(
        self,
        messages: Sequence[Message],
        settings: ChatSettings | None,
        tools: Sequence[ToolSpec],
        response_schema: dict[str, Any] | None,
    ) -> dict[str, Any]:
        s = merge(self.defaults, settings)
        request: dict[str, Any] = {
            "model": self.model,
            "messages": to_openai_messages(messages),
            "temperature": s.temperature,
            "max_tokens": s.max_tokens,
            "timeout": s.timeout_s,
        }
        if s.stop:
            request["stop"] = list(s.stop)
        if s.seed is not None:
            request["seed"] = s.seed
        if tools:
            request["tools"] = _tools(tools)
        if response_schema is not None:
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "response", "schema": response_schema},
            }
        return request

    def _error(self, exc: Exception) -> ProviderError:
        if isinstance(exc, openai.APIStatusError):
            return status_error(
                self.provider,
                exc.status_code,
                exc.message,
                retry_after=exc.response.headers.get("retry-after"),
                api_key_env=self.api_key_env,
            )
        return transport_error(self.provider, exc, timeout=isinstance(exc, openai.APITimeoutError))

    def _usage(self, reported: Any, messages: Sequence[Message], text: str) -> Usage:
        if reported is not None and (reported.prompt_tokens or reported.completion_tokens):
            return Usage(reported.prompt_tokens, reported.completion_tokens, model=self.model)
        return Usage(count_messages(messages, self.model), count_tokens(text, self.model), model=self.model)

    def complete(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Completion:
        began = time.perf_counter()
        request = self._request(messages, settings, tools, response_schema)
        try:
            response = self._client.chat.completions.create(**request)
        except (openai.APIError, httpx.TransportError) as exc:
            raise self._error(exc) from exc
        choice = response.choices[0]
        text = choice.message.content or ""
        calls = tuple(
            ToolCall(c.id, c.function.name, c.function.arguments)
            for c in choice.message.tool_calls or ()
            if c.type == "function"
        )
        return Completion(
            text=text,
            tool_calls=calls,
            usage=self._usage(response.usage, messages, text),
            model=self.model,
            finish_reason=choice.finish_reason or "stop",
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
        request = self._request(messages, settings, tools, response_schema)
        try:
            chunks = self._client.chat.completions.create(
                **request, stream=True, stream_options={"include_usage": True}
            )
        except (openai.APIError, httpx.TransportError) as exc:
            raise self._error(exc) from exc
        return self._events(chunks, messages)

    def _events(self, chunks: Any, messages: Sequence[Message]) -> Iterator[StreamEvent]:
        parts: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        finish, reported = "stop", None
        try:
            for chunk in chunks:
                reported = chunk.usage or reported
                for choice in chunk.choices:
                    finish = choice.finish_reason or finish
                    if choice.delta.content:
                        parts.append(choice.delta.content)
                        yield TextDelta(choice.delta.content)
                    for fragment in choice.delta.tool_calls or ():
                        _merge_fragment(calls.setdefault(fragment.index, {}), fragment)
        except (openai.APIError, httpx.TransportError) as exc:
            raise self._error(exc) from exc
        finally:
            chunks.close()
        for call in calls.values():
            yield ToolCallEvent(ToolCall(call.get("id", ""), call.get("name", ""), call.get("arguments", "")))
        yield UsageEvent(self._usage(reported, messages, "".join(parts)))
        yield Done(finish, self.model)


def _merge_fragment(call: dict[str, str], fragment: Any) -> None:
    if fragment.id:
        call["id"] = fragment.id
    function = fragment.function
    if function is not None:
        if function.name:
            call["name"] = call.get("name", "") + function.name
        if function.arguments:
            call["arguments"] = call.get("arguments", "") + function.arguments
