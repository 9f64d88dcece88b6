"""The OpenAI-compatible adapter against the real local llama.cpp server running SmolLM2."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
from pydantic import BaseModel, Field

from quarry.llm import (
    ChatSettings,
    Done,
    LocalChatModel,
    OpenAICompatibleChatModel,
    TextDelta,
    ToolCallEvent,
    ToolSpec,
    UsageEvent,
    collect,
    complete_structured,
)
from quarry.llm.local import ServerParams
from quarry.types import Message

from .conftest import QUICK

HELLO = [Message("system", "You are terse."), Message("user", "Say hello to Ada.")]


def test_completion_returns_text_and_usage(local_model: LocalChatModel) -> None:
    done = local_model.complete(HELLO, settings=QUICK)
    assert done.text.strip()
    assert done.usage.prompt_tokens > 5 and 0 < done.usage.completion_tokens <= 32
    assert done.model == "smollm2" and local_model.model_id == "local:smollm2"
    assert done.finish_reason in ("stop", "length") and done.latency_s > 0


def test_stream_yields_deltas_then_usage_then_done(local_model: LocalChatModel) -> None:
    events = list(local_model.stream(HELLO, settings=QUICK))
    kinds = [type(e) for e in events]
    assert kinds[-2:] == [UsageEvent, Done]
    assert set(kinds[:-2]) == {TextDelta} and len(kinds) > 3
    usage = events[-2]
    assert isinstance(usage, UsageEvent) and usage.usage.completion_tokens > 0
    assert collect(iter(events)).text == "".join(e.text for e in events if isinstance(e, TextDelta))


def test_same_seed_and_zero_temperature_repeat(local_model: LocalChatModel) -> None:
    first = local_model.complete(HELLO, settings=QUICK)
    second = local_model.complete(HELLO, settings=QUICK)
    assert first.text == second.text


class City(BaseModel):
    name: str = Field(max_length=24)
    country: str = Field(max_length=24)


def test_json_schema_output_validates_into_pydantic(local_model: LocalChatModel) -> None:
    ask = [Message("user", "Name the capital city of France and its country as JSON.")]
    city = complete_structured(local_model, ask, City, settings=ChatSettings(max_tokens=64, temperature=0.0, seed=7))
    assert isinstance(city, City) and city.name


WEATHER = ToolSpec(
    "get_weather",
    "Get the current weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string", "maxLength": 24}}, "required": ["city"]},
)


def test_tool_choice_through_constrained_schema(local_model: LocalChatModel) -> None:
    ask = [Message("user", "What is the weather in Paris right now?")]
    done = local_model.complete(ask, settings=ChatSettings(max_tokens=48, seed=7), tools=[WEATHER])
    assert done.finish_reason == "tool_calls"
    (call,) = done.tool_calls
    assert call.name == "get_weather" and isinstance(json.loads(call.arguments)["city"], str)
    events = list(local_model.stream(ask, settings=ChatSettings(max_tokens=48, seed=7), tools=[WEATHER]))
    assert any(isinstance(e, ToolCallEvent) and e.call.name == "get_weather" for e in events)


def test_tool_results_in_history_are_rewritten_for_the_template(local_model: LocalChatModel) -> None:
    ask = [Message("user", "What is the weather in Paris right now?")]
    call = local_model.complete(ask, settings=ChatSettings(max_tokens=48, seed=7), tools=[WEATHER]).tool_calls[0]
    history = [*ask, Message("assistant", "", tool_calls=(call,)), Message("tool", "Sunny, 21 C", tool_call_id=call.id)]
    done = local_model.complete(history, settings=QUICK)
    assert done.text.strip()


def test_adapter_talks_to_the_server_directly(local_url: str) -> None:
    model = OpenAICompatibleChatModel(model="smollm2", base_url=f"{local_url}/v1", provider="local")
    try:
        done = model.complete(HELLO, settings=ChatSettings(max_tokens=8, stop=("\n",)))
        assert done.usage.completion_tokens <= 8
    finally:
        model.close()


def test_one_server_per_model_even_under_concurrency(local_model: LocalChatModel) -> None:
    twins = [LocalChatModel("smollm2", n_threads=1, n_ctx=2048) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        urls = set(pool.map(lambda m: m.base_url, twins))
    assert urls == {local_model.base_url}


def test_speed_parameters_get_their_own_server_and_it_answers(local_model: LocalChatModel) -> None:
    tuned = LocalChatModel("smollm2", n_threads=1, n_ctx=2048, server=ServerParams(n_ubatch=128, flash_attn=True))
    try:
        assert tuned.server.n_ctx == 2048 and tuned.n_threads == 1
        assert tuned.base_url != local_model.base_url
        assert tuned.complete(HELLO, settings=QUICK).text.strip()
    finally:
        tuned.close()


def test_the_prompt_cache_reuses_a_shared_prefix(local_url: str) -> None:
    """A fixed system message is read once: the next request with the same prefix starts from the cache."""
    system = {"role": "system", "content": "Answer using only the sources. " * 12}
    timings = []
    for question in ("Who wrote Hamlet?", "What is the boiling point of water?"):
        body = {"messages": [system, {"role": "user", "content": question}], "max_tokens": 4, "temperature": 0}
        reply = httpx.post(f"{local_url}/v1/chat/completions", json=body, timeout=60).json()
        timings.append(reply["timings"])
    assert timings[1]["cache_n"] >= 60 and timings[1]["prompt_n"] < timings[0]["prompt_n"]
