"""The Anthropic adapter against a scripted Anthropic-compatible HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from quarry.errors import ConfigError, ProviderError
from quarry.llm import AnthropicChatModel, ChatSettings, Done, TextDelta, ToolCallEvent, ToolSpec, UsageEvent, collect
from quarry.testing.llm_servers import AnthropicReply, ScriptedAnthropicServer
from quarry.types import Message, ToolCall

ASK = [Message("system", "Be brief."), Message("user", "Hi there")]
SEARCH = ToolSpec("search", "Search the knowledge base.", {"type": "object", "properties": {"q": {"type": "string"}}})


@pytest.fixture
def server() -> Iterator[ScriptedAnthropicServer]:
    with ScriptedAnthropicServer(api_key="secret") as scripted:
        yield scripted


@pytest.fixture
def claude(server: ScriptedAnthropicServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[AnthropicChatModel]:
    monkeypatch.setenv("TEST_ANTHROPIC_KEY", "secret")
    model = AnthropicChatModel(model="claude-test", base_url=server.url, api_key_env="TEST_ANTHROPIC_KEY")
    yield model
    model.close()


def test_text_completion_and_usage(server: ScriptedAnthropicServer, claude: AnthropicChatModel) -> None:
    server.add(AnthropicReply("Hello, Ada.", input_tokens=12, output_tokens=4))
    done = claude.complete(ASK, settings=ChatSettings(max_tokens=20, stop=("END",)))
    assert done.text == "Hello, Ada." and done.finish_reason == "stop"
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (12, 4)
    sent = server.requests[0]
    assert sent["system"] == "Be brief." and sent["max_tokens"] == 20 and sent["stop_sequences"] == ["END"]
    assert sent["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi there"}]}]
    auth = server.headers[0]
    assert auth.get("x-api-key") == "secret" or auth.get("authorization") == "Bearer secret"


def test_streaming_events(server: ScriptedAnthropicServer, claude: AnthropicChatModel) -> None:
    server.add(AnthropicReply("one two three", input_tokens=9, output_tokens=3, stop_reason="max_tokens"))
    events = list(claude.stream(ASK))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert deltas == ["one", " two", " three"]
    assert events[-2] == UsageEvent(events[-2].usage) and isinstance(events[-1], Done)
    done = collect(iter(events))
    assert done.finish_reason == "length" and done.usage.prompt_tokens == 9 and done.usage.completion_tokens == 3


def test_tool_use_maps_both_ways(server: ScriptedAnthropicServer, claude: AnthropicChatModel) -> None:
    server.add(AnthropicReply("Searching.", tool_calls=[("search", {"q": "rag"})], stop_reason="tool_use"))
    done = claude.complete(ASK, tools=[SEARCH])
    assert done.finish_reason == "tool_calls"
    (call,) = done.tool_calls
    assert call.name == "search" and json.loads(call.arguments) == {"q": "rag"}
    assert server.requests[0]["tools"][0]["input_schema"] == SEARCH.parameters

    server.add(AnthropicReply("Found it."))
    history = [*ASK, done.message(), Message("tool", "3 hits", tool_call_id=call.id)]
    assert claude.complete(history, tools=[SEARCH]).text == "Found it."
    wire = server.requests[1]["messages"]
    assert wire[1]["content"][1] == {"type": "tool_use", "id": call.id, "name": "search", "input": {"q": "rag"}}
    assert wire[2] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "3 hits"}],
    }


def test_streamed_tool_call_is_assembled(server: ScriptedAnthropicServer, claude: AnthropicChatModel) -> None:
    server.add(AnthropicReply(tool_calls=[("search", {"q": "retrieval augmented"})], stop_reason="tool_use"))
    calls = [e.call for e in claude.stream(ASK, tools=[SEARCH]) if isinstance(e, ToolCallEvent)]
    assert len(calls) == 1 and isinstance(calls[0], ToolCall)
    assert json.loads(calls[0].arguments) == {"q": "retrieval augmented"}


def test_bad_key_is_a_provider_error_naming_the_variable(
    server: ScriptedAnthropicServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_ANTHROPIC_KEY", "wrong")
    model = AnthropicChatModel(model="claude-test", base_url=server.url, api_key_env="TEST_ANTHROPIC_KEY")
    try:
        with pytest.raises(ProviderError) as caught:
            model.complete(ASK)
    finally:
        model.close()
    assert caught.value.status == 401 and caught.value.provider == "anthropic"
    assert "TEST_ANTHROPIC_KEY" in caught.value.hint


def test_overloaded_carries_retry_after(server: ScriptedAnthropicServer, claude: AnthropicChatModel) -> None:
    server.add(AnthropicReply(status=529, error_type="overloaded_error", retry_after="2"))
    with pytest.raises(ProviderError) as caught:
        claude.complete(ASK)
    assert caught.value.status == 529 and caught.value.retry_after == 2.0


def test_missing_key_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(ConfigError, match="NO_SUCH_KEY_VAR"):
        AnthropicChatModel(model="claude-test", api_key_env="NO_SUCH_KEY_VAR")
