"""Token counting with ``quicktok`` (offline BPE encodings).

The encoding is chosen by model family: OpenAI ``gpt-4o``/``o*`` models use ``o200k_base``, older GPT
models ``cl100k_base``, Llama 3 ``llama3``, Qwen ``qwen3`` (see ``quicktok.MODEL_TO_ENCODING``). Every
other model — Claude, SmolLM2, Gemma, anything unknown — is counted with ``cl100k_base`` as an
*approximation*: a different vocabulary typically lands within ±15 % for English prose, so counts for
those models are estimates, good for budgets and cost forecasts, not for exact context packing.
Chat formatting adds :data:`PER_MESSAGE_OVERHEAD` tokens per message (role markers), also approximate.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import quicktok

from quarry.types import Message

__all__ = ["FALLBACK_ENCODING", "PER_MESSAGE_OVERHEAD", "count_messages", "count_tokens", "encoding_name"]

FALLBACK_ENCODING = "cl100k_base"
PER_MESSAGE_OVERHEAD = 4
_LOCK = threading.Lock()


@lru_cache(maxsize=256)
def encoding_name(model: str) -> str:
    """The quicktok encoding used to count tokens for ``model`` (``provider:`` prefixes are ignored)."""
    name = (model.split(":", 1)[1] if ":" in model else model).lower().rsplit("/", 1)[-1]
    for prefix, encoding in sorted(quicktok.MODEL_TO_ENCODING.items(), key=lambda kv: -len(kv[0])):
        if name == prefix or name.startswith((prefix + "-", prefix + ".")):
            return str(encoding)
    return FALLBACK_ENCODING


def _tokenizer(model: str) -> Any:
    with _LOCK:
        return quicktok.get_encoding(encoding_name(model))


def count_tokens(text: str, model: str = "") -> int:
    """Tokens in ``text`` for ``model`` (exact for known families, approximate otherwise)."""
    if not text:
        return 0
    return len(_tokenizer(model).encode(text))


def count_messages(messages: Sequence[Message], model: str = "") -> int:
    """Prompt tokens of a conversation: content, tool-call arguments and a per-message overhead."""
    total = 0
    for message in messages:
        total += PER_MESSAGE_OVERHEAD + count_tokens(message.content, model)
        for call in message.tool_calls:
            total += count_tokens(call.name, model) + count_tokens(call.arguments, model)
    return total
