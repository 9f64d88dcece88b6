"""Chat models: the :class:`ChatModel` protocol, providers, and wrappers that compose around them.

Providers: :class:`LocalChatModel` (packaged GGUF via in-process llama.cpp), :class:`OpenAICompatibleChatModel`,
:class:`AnthropicChatModel`. Wrappers: :class:`Retrying`, :class:`Fallback`, :class:`Metered`,
:class:`Budgeted`, :class:`Traced`, :class:`SchemaTools`. :func:`build_chat_model` composes them from settings;
:func:`complete_structured` gets schema-valid output.
"""

import typing as _typing

from quarry.llm.base import (
    DEFAULT_SETTINGS,
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
    load_model,
    merge,
)
from quarry.llm.factory import build_chat_model, build_provider
from quarry.llm.fallback import Fallback
from quarry.llm.metering import Budget, Budgeted, Metered
from quarry.llm.pricing import Price, PriceTable
from quarry.llm.retrying import Retrying, is_retryable
from quarry.llm.schema_tools import SchemaTools, tool_choice_schema
from quarry.llm.structured import complete_structured
from quarry.llm.tokens import count_messages, count_tokens
from quarry.llm.traced import Traced

if _typing.TYPE_CHECKING:
    from quarry.llm.anthropic_provider import AnthropicChatModel
    from quarry.llm.local import LocalChatModel, local_server_url, locate_model, stop_local_servers
    from quarry.llm.openai_compat import OpenAICompatibleChatModel

# providers load their SDKs (openai ~1 s, anthropic, llama.cpp) on first use, not when quarry.llm is imported
_LAZY = {
    "AnthropicChatModel": "quarry.llm.anthropic_provider",
    "LocalChatModel": "quarry.llm.local",
    "local_server_url": "quarry.llm.local",
    "locate_model": "quarry.llm.local",
    "stop_local_servers": "quarry.llm.local",
    "OpenAICompatibleChatModel": "quarry.llm.openai_compat",
}


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'quarry.llm' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "DEFAULT_SETTINGS",
    "AnthropicChatModel",
    "Budget",
    "Budgeted",
    "ChatModel",
    "ChatSettings",
    "Completion",
    "Done",
    "Fallback",
    "LocalChatModel",
    "Metered",
    "OpenAICompatibleChatModel",
    "Price",
    "PriceTable",
    "Retrying",
    "SchemaTools",
    "StreamEvent",
    "TextDelta",
    "ToolCallEvent",
    "ToolSpec",
    "Traced",
    "UsageEvent",
    "build_chat_model",
    "build_provider",
    "collect",
    "complete_structured",
    "count_messages",
    "count_tokens",
    "is_retryable",
    "load_model",
    "local_server_url",
    "locate_model",
    "merge",
    "stop_local_servers",
    "tool_choice_schema",
]
