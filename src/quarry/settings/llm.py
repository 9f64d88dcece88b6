"""``[llm]``: the chat model — local (packaged GGUF) or a provider — its prices and budget."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from quarry.settings.section import Section

__all__ = ["LLMBudgetSettings", "LLMProviderSettings", "LLMSettings", "LocalModelSettings", "PriceSettings"]


class LocalModelSettings(Section):
    model: str = Field(
        "smollm2",
        description='"smollm2" (packaged, default), "qwen2.5-0.5b" or "gemma3-270m" (packaged: `make models`) or a '
        "path to a .gguf file",
    )
    n_threads: int = Field(
        2, ge=1, description="llama.cpp threads; 2 read prompts 2.5x faster than 1 on an idle 2-core machine"
    )
    n_ctx: int = Field(4096, ge=256, description="context window of the in-process llama.cpp server")
    repack: bool = Field(
        True, description="run a Q8_0 copy of the weights (built once; Q4_1 SmolLM2 reads prompts ~1.8x slower)"
    )
    parallel_tools: bool = Field(
        False, description="let the model ask for several tool calls in one turn ({'calls': [...]})"
    )
    lora: str = Field(
        "",
        description='a GGUF LoRA adapter to apply (a path); "" = the model registry\'s production adapter, if any; '
        '"none" = never one',
    )


class PriceSettings(Section):
    prompt_per_mtok: float = Field(0.0, ge=0, description="USD per million prompt tokens")
    completion_per_mtok: float = Field(0.0, ge=0, description="USD per million completion tokens")


class LLMBudgetSettings(Section):
    max_tokens: int | None = Field(None, ge=1, description="per-request token budget (prompt + completion)")
    max_cost_usd: float | None = Field(None, gt=0, description="per-request cost budget, priced with llm.prices")


class LLMProviderSettings(Section):
    """One chat model: which provider, which model, how to reach it, and its call defaults."""

    provider: Literal["local", "openai", "anthropic"] = "local"
    model: str = Field("", description="model name; empty = the provider's default (local: local.model)")
    base_url: str | None = Field(None, description="endpoint override, e.g. http://localhost:8000/v1")
    api_key_env: str | None = Field(
        None, description="environment variable holding the key; default OPENAI_API_KEY / ANTHROPIC_API_KEY"
    )
    temperature: float = Field(0.0, ge=0, le=2)
    max_tokens: int = Field(512, ge=1, description="completion tokens per call")
    timeout_s: float = Field(60.0, gt=0, description="per-attempt timeout")
    max_retries: int = Field(2, ge=0, description="retries after the first attempt on 429/5xx/timeouts")
    local: LocalModelSettings = LocalModelSettings()


class LLMSettings(LLMProviderSettings):
    fallback: list[LLMProviderSettings] = Field(
        default_factory=list, description="models tried in order when the primary fails"
    )
    prices: dict[str, PriceSettings] = Field(
        default_factory=dict, description="model name (or prefix) -> USD per million tokens; unknown = free"
    )
    budget: LLMBudgetSettings = LLMBudgetSettings()
