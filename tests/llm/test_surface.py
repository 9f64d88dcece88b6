"""Settings, the factory, merging, tokens and the public surface."""

from __future__ import annotations

import pytest

import quarry.llm
from quarry.errors import ConfigError
from quarry.llm import (
    DEFAULT_SETTINGS,
    Budgeted,
    ChatModel,
    ChatSettings,
    Fallback,
    LocalChatModel,
    Metered,
    OpenAICompatibleChatModel,
    Retrying,
    build_chat_model,
    count_tokens,
    locate_model,
    merge,
)
from quarry.llm.tokens import encoding_name
from quarry.settings import LLMSettings, Settings
from quarry.testing.chat import ScriptedChatModel
from quarry.types import Usage


def test_all_is_complete() -> None:
    public = {name for name in dir(quarry.llm) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(quarry.llm, name)).__name__ == "module"}
    assert set(quarry.llm.__all__) == public - modules


def test_merge_later_layers_win_field_by_field() -> None:
    config = ChatSettings(temperature=0.7, max_tokens=100)
    call = ChatSettings(max_tokens=10, stop=("\n",))
    merged = merge(DEFAULT_SETTINGS, config, None, call)
    assert merged == ChatSettings(temperature=0.7, max_tokens=10, timeout_s=60.0, stop=("\n",))


def test_usage_adds() -> None:
    total = Usage(1, 2, 0.5, "a") + Usage(10, 20, 0.25, "b")
    assert total == Usage(11, 22, 0.75, "a") and total.total_tokens == 33


def test_tokens_choose_the_encoding_by_family() -> None:
    assert encoding_name("openai:gpt-4o-mini") == "o200k_base"
    assert encoding_name("gpt-4") == "cl100k_base" and encoding_name("meta-llama/Llama-3.1-8B") == "llama3"
    assert encoding_name("smollm2") == "cl100k_base"  # approximation for unknown families
    assert count_tokens("hello world", "gpt-4o") == 2 and count_tokens("") == 0


def test_settings_default_to_the_local_model() -> None:
    llm = Settings().llm
    assert llm.provider == "local" and llm.local.model == "smollm2" and llm.local.n_threads == 2 and llm.local.repack


def test_factory_composes_local_with_metering_only() -> None:
    model = build_chat_model(LLMSettings())
    try:
        assert isinstance(model, Metered) and isinstance(model.inner, Retrying)
        assert isinstance(model.inner.inner, LocalChatModel) and isinstance(model, ChatModel)
    finally:
        model.close()


def test_factory_composes_fallback_and_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_OPENAI_KEY", "k")
    settings = LLMSettings.model_validate(
        {
            "provider": "openai",
            "model": "gpt-4o-mini",
            "api_key_env": "TEST_OPENAI_KEY",
            "max_retries": 4,
            "fallback": [{"provider": "local"}],
            "prices": {"gpt-4o-mini": {"prompt_per_mtok": 0.15, "completion_per_mtok": 0.6}},
            "budget": {"max_cost_usd": 0.01},
        }
    )
    model = build_chat_model(settings)
    try:
        assert isinstance(model, Budgeted) and isinstance(model.inner, Metered)
        chain = model.inner.inner
        assert isinstance(chain, Fallback) and [m.model_id for m in chain.models] == [
            "openai:gpt-4o-mini",
            "local:smollm2",
        ]
        first = chain.models[0]
        assert isinstance(first, Retrying) and first.max_attempts == 5
        assert isinstance(first.inner, OpenAICompatibleChatModel)
        assert model.prices.price("gpt-4o-mini-2024").prompt_per_mtok == 0.15
    finally:
        model.close()


def test_configuration_errors_have_hints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="needs a model name"):
        build_chat_model(LLMSettings(provider="openai"))
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        build_chat_model(LLMSettings(provider="openai", model="m"))
    with pytest.raises(ConfigError, match="unknown local model"):
        locate_model("no-such-model")


def test_scripted_model_records_calls_and_runs_out() -> None:
    model = ScriptedChatModel(["a"])
    assert model.complete([]).text == "a" and len(model.calls) == 1
    with pytest.raises(AssertionError, match="exhausted"):
        model.complete([])
