"""Compose a chat model from :class:`~quarry.settings.LLMSettings`.

The result, outermost first::

    Budgeted (only when llm.budget sets a limit)
      Metered (price table from llm.prices; totals on .totals)
        Fallback (only when llm.fallback lists models)
          Retrying(primary provider), Retrying(fallback 1), …

Each provider gets its own retries (``max_retries`` after the first attempt, per-attempt ``timeout_s``)
before the chain moves on to the next model.
"""

from __future__ import annotations

from pathlib import Path

from quarry.errors import ConfigError
from quarry.llm.base import ChatModel, ChatSettings
from quarry.llm.fallback import Fallback
from quarry.llm.metering import Budget, Budgeted, Metered
from quarry.llm.pricing import PriceTable
from quarry.llm.retrying import Retrying
from quarry.settings import LLMProviderSettings, LLMSettings

__all__ = ["build_chat_model", "build_provider"]


def build_provider(config: LLMProviderSettings) -> ChatModel:
    """The bare provider model for one configured entry (no retries)."""
    # each provider's SDK is imported only when that provider is used (the OpenAI SDK alone costs ~1 s)
    defaults = ChatSettings(temperature=config.temperature, max_tokens=config.max_tokens, timeout_s=config.timeout_s)
    if config.provider == "local":
        from quarry.llm.local import LocalChatModel

        local = config.local
        return LocalChatModel(
            config.model or local.model,
            n_threads=local.n_threads,
            n_ctx=local.n_ctx,
            defaults=defaults,
            repack=local.repack,
            parallel_tools=local.parallel_tools,
            lora=Path(local.lora) if local.lora not in ("", "none") else None,
        )
    if not config.model:
        raise ConfigError(
            f"the {config.provider} provider needs a model name",
            key="llm.model",
            hint="set llm.model, e.g. gpt-4o-mini or claude-3-5-haiku-latest",
        )
    if config.provider == "openai":
        from quarry.llm.openai_compat import OpenAICompatibleChatModel

        return OpenAICompatibleChatModel(
            model=config.model,
            base_url=config.base_url,
            api_key_env=config.api_key_env or "OPENAI_API_KEY",
            defaults=defaults,
        )
    from quarry.llm.anthropic_provider import AnthropicChatModel

    return AnthropicChatModel(
        model=config.model,
        base_url=config.base_url,
        api_key_env=config.api_key_env or "ANTHROPIC_API_KEY",
        defaults=defaults,
    )


def _retrying(config: LLMProviderSettings) -> ChatModel:
    return Retrying(build_provider(config), max_attempts=config.max_retries + 1, timeout_s=config.timeout_s)


def build_chat_model(settings: LLMSettings) -> ChatModel:
    """Provider + retries + fallback + metering (+ budget); see the module docstring."""
    chain = [_retrying(settings), *(_retrying(entry) for entry in settings.fallback)]
    model: ChatModel = chain[0] if len(chain) == 1 else Fallback(chain)
    prices = PriceTable.from_config(settings.prices)
    model = Metered(model, prices)
    budget = settings.budget
    if budget.max_tokens is not None or budget.max_cost_usd is not None:
        model = Budgeted(model, Budget(max_tokens=budget.max_tokens, max_cost_usd=budget.max_cost_usd), prices)
    return model
