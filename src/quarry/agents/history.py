"""The conversation a run keeps: messages as JSON-ready dicts (how runs are stored), and the short-term memory
rule — the newest turns verbatim within a token budget, everything older folded into one summary the model
writes. Summaries never split a tool call from its result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from quarry.llm import ChatModel, ChatSettings
from quarry.llm.tokens import count_messages
from quarry.types import Message, ToolCall

__all__ = ["SUMMARY_PREFIX", "fit", "message_dict", "message_of"]

SUMMARY_PREFIX = "Summary of the earlier conversation: "
_SUMMARISE = (
    "Summarise this conversation between a user and an assistant that uses tools in at most 120 words. Keep "
    "facts, numbers, names, decisions and what is still open; drop pleasantries."
)


def message_dict(message: Message) -> dict[str, Any]:
    data: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        data["tool_calls"] = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in message.tool_calls]
    if message.tool_call_id is not None:
        data["tool_call_id"] = message.tool_call_id
    return data


def message_of(data: Mapping[str, Any]) -> Message:
    calls = tuple(ToolCall(c["id"], c["name"], c["arguments"]) for c in data.get("tool_calls", ()))
    return Message(data["role"], data.get("content", ""), calls, data.get("tool_call_id"))


def fit(messages: Sequence[Message], budget: int, model: ChatModel) -> list[Message]:
    """``messages`` within ``budget`` tokens: leading system messages and the newest turns kept verbatim, the
    turns between them replaced by a model-written summary (unchanged when they already fit)."""
    if count_messages(messages) <= budget:
        return list(messages)
    head = [m for m in messages[:2] if m.role == "system"]
    body = list(messages[len(head) :])
    keep: list[Message] = []
    used = count_messages(head) + 200  # room for the summary
    for index in range(len(body) - 1, -1, -1):
        cost = count_messages([body[index]])
        if used + cost > budget and keep and _starts_turn(body[index + 1 :]):
            break
        keep.insert(0, body[index])
        used += cost
    older = body[: len(body) - len(keep)]
    if not older:
        return [*head, *keep]
    return [*head, Message("system", SUMMARY_PREFIX + _summary(older, model)), *keep]


def _starts_turn(rest: Sequence[Message]) -> bool:
    """True when ``rest`` does not begin with a tool result (which must stay with the call before it)."""
    return not rest or rest[0].role != "tool"


def _summary(older: Sequence[Message], model: ChatModel) -> str:
    lines = []
    for m in older:
        calls = "; ".join(f"called {c.name}({c.arguments})" for c in m.tool_calls)
        lines.append(f"{m.role}: {m.content} {calls}".strip())
    prompt = [Message("system", _SUMMARISE), Message("user", "\n".join(lines)[-12_000:])]
    return model.complete(prompt, settings=ChatSettings(max_tokens=200, temperature=0.0)).text.strip()
