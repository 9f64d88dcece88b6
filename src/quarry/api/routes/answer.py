"""``POST /v1/answer``: a cited answer as JSON, or streamed as server-sent events.

Stream events, in order: ``token`` (``{"text"}``) as the model writes, a ``revision`` (``{"text", "reason"}``)
when the claim check replaced what was streamed (show its text instead), then ``citation`` (one per source),
``usage``, and ``done`` (the whole answer, as the JSON response would have it). A failure after the stream
started ends it with an ``error`` event carrying the usual error body. ``k`` defaults to the server's
``generation.k``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import StreamingResponse

from quarry.api.context import CallerDep, ContextDep, answerer_of, subject_of
from quarry.api.filters import parse_filter
from quarry.api.metrics import Metrics
from quarry.api.routes.experiments import check_after_answer
from quarry.api.schemas import AnswerRequest, AnswerResponse
from quarry.api.sse import SSE_HEADERS, SSE_RESPONSE, event, guarded, primed
from quarry.api.wire import answer_out, citation_out, usage_out
from quarry.generation.types import AnswerEvent, CitationEvent, DoneEvent, RevisionEvent, TokenEvent, UsageEvent
from quarry.types import Message

__all__ = ["router", "wants_stream"]

router = APIRouter(prefix="/v1", tags=["answer"])


def wants_stream(request: Request, stream: bool) -> bool:
    return stream or "text/event-stream" in request.headers.get("accept", "")


@router.post("/answer", response_model=AnswerResponse, responses=SSE_RESPONSE)
def answer(
    body: AnswerRequest, request: Request, caller: CallerDep, context: ContextDep, background: BackgroundTasks
) -> Any:
    """Answer ``question`` from the collection's documents this caller may see, with citations."""
    caller.require("read", body.collection)
    where = caller.restrict(parse_filter(body.filter))
    answerer = answerer_of(context)
    subject = subject_of(caller, body.session)
    background.add_task(check_after_answer, context)
    history = [Message(turn.role, turn.content) for turn in body.history]
    if wants_stream(request, body.stream):
        asked = answerer.stream(body.question, body.collection, k=body.k, where=where, history=history, subject=subject)
        events = primed(iter(asked))
        lines = guarded(_sse(events, context.metrics), lambda error: event(error, "error"))
        return StreamingResponse(lines, media_type="text/event-stream", headers=SSE_HEADERS, background=background)
    result = answerer.answer(body.question, body.collection, k=body.k, where=where, history=history, subject=subject)
    context.metrics.observe_answer(result)
    return answer_out(result)


def _sse(events: Iterator[AnswerEvent], metrics: Metrics) -> Iterator[str]:
    for item in events:
        match item:
            case TokenEvent(text):
                yield event({"text": text}, "token")
            case RevisionEvent(text, reason):
                yield event({"text": text, "reason": reason}, "revision")
            case CitationEvent(citation):
                yield event(citation_out(citation).model_dump(), "citation")
            case UsageEvent(usage):
                yield event(usage_out(usage).model_dump(), "usage")
            case DoneEvent(result):
                metrics.observe_answer(result)
                yield event(answer_out(result).model_dump(), "done")
