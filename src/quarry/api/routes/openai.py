"""OpenAI-compatible ``/v1/chat/completions`` and ``/v1/models``.

The model name picks the collection: ``quarry:<collection>``. The last user message is the question; the turns
before it are the conversation, so a follow-up ("and for secondary carers?") is condensed into a standalone query
for retrieval, and the caller's system message is put before Quarry's own instructions. Citations travel in an
extension field, ``quarry_citations``: on the assistant ``message`` of a completion, and on the final chunk of a
stream (the chunk whose ``finish_reason`` is ``"stop"``), which also carries ``usage`` and, when the claim check
replaced the streamed text, ``quarry_revision`` (``{"text", "reason"}``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from quarry.api.context import CallerDep, ContextDep, answerer_of, subject_of
from quarry.api.errors import ApiError
from quarry.api.metrics import Metrics
from quarry.api.routes.answer import wants_stream
from quarry.api.sse import SSE_HEADERS, SSE_RESPONSE, event, guarded, primed
from quarry.api.wire import citation_out
from quarry.generation.types import Answer, AnswerEvent, DoneEvent, RevisionEvent, TokenEvent
from quarry.types import Message

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["openai"])

PREFIX = "quarry:"


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")  # OpenAI clients send many optional fields
    model: str = Field(max_length=80, description="quarry:<collection>")
    messages: list[ChatMessage] = Field(min_length=1, max_length=100)
    stream: bool = False
    quarry_k: int | None = Field(
        None, ge=1, le=50, description="extension: passages to retrieve (default generation.k)"
    )
    user: str | None = Field(None, max_length=128, description="the end user: keeps them on one experiment variant")


class ModelOut(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "quarry"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]


@router.get("/models")
def list_models(caller: CallerDep, context: ContextDep) -> ModelList:
    """One model per collection this key may use."""
    caller.require("read")
    infos = [i for i in context.quarry.store.collections() if caller.key.may_use(i.name)]
    return ModelList(data=[ModelOut(id=PREFIX + i.name, created=int(i.created_at)) for i in infos])


@router.post("/chat/completions", responses=SSE_RESPONSE)
def chat_completions(body: ChatCompletionRequest, request: Request, caller: CallerDep, context: ContextDep) -> Any:
    if not body.model.startswith(PREFIX) or len(body.model) == len(PREFIX):
        raise ApiError(404, "model_not_found", "models are named quarry:<collection>; list them at /v1/models")
    collection = body.model[len(PREFIX) :]
    caller.require("read", collection)
    question, history, system = _conversation(body.messages)
    where = caller.restrict(None)
    answerer = answerer_of(context)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    asked = {"k": body.quarry_k, "where": where, "history": history, "system": system,
             "subject": subject_of(caller, body.user)}  # fmt: skip
    if wants_stream(request, body.stream):
        stream = answerer.stream(question, collection, **asked)
        events = primed(iter(stream))
        chunks = _chunks(events, completion_id, body.model, context.metrics)
        lines = guarded(chunks, lambda error: event(error))
        return StreamingResponse(lines, media_type="text/event-stream", headers=SSE_HEADERS)
    answer = answerer.answer(question, collection, **asked)
    context.metrics.observe_answer(answer)
    message = {"role": "assistant", "content": answer.text, "quarry_citations": _citations(answer)}
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": _usage(answer),
    }


def _text(message: ChatMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    return " ".join(str(p.get("text", "")) for p in message.content or [] if p.get("type") == "text")


def _conversation(messages: list[ChatMessage]) -> tuple[str, list[Message], str | None]:
    """The question (the last user message), the turns before it, and the caller's system message."""
    last = next(
        (i for i in range(len(messages) - 1, -1, -1) if messages[i].role == "user" and _text(messages[i]).strip()), None
    )
    if last is None:
        raise ApiError(400, "invalid_request", "send at least one user message with text")
    system = "\n\n".join(_text(m) for m in messages if m.role in ("system", "developer") and _text(m).strip()) or None
    history = [Message(m.role, _text(m)[:4000]) for m in messages[:last] if m.role in ("user", "assistant")]
    return _text(messages[last])[:4000], history, system[:4000] if system else None


def _citations(answer: Answer) -> list[dict[str, Any]]:
    return [citation_out(c).model_dump() for c in answer.citations]


def _usage(answer: Answer) -> dict[str, int]:
    usage = answer.usage
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def _chunks(events: Iterator[AnswerEvent], completion_id: str, model: str, metrics: Metrics) -> Iterator[str]:
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [choice],
            **extra,
        }
        return event(body)

    yield chunk({"role": "assistant", "content": ""})
    revision: dict[str, str] | None = None
    for item in events:
        if isinstance(item, TokenEvent):
            yield chunk({"content": item.text})
        elif isinstance(item, RevisionEvent):
            revision = {"text": item.text, "reason": item.reason}
        elif isinstance(item, DoneEvent):
            metrics.observe_answer(item.answer)
            extra = {"quarry_revision": revision} if revision else {}
            yield chunk({}, "stop", quarry_citations=_citations(item.answer), usage=_usage(item.answer), **extra)
    yield event("[DONE]")
