"""``POST /v1/feedback``: what a user thought of an answer, tied to its trace.

Any key may give feedback on a trace it may see (its own requests; an admin key, its collections'); the
feedback is stored with the key and its principals, shown on ``GET /v1/traces/{id}``, and counted per
experiment variant.
"""

from __future__ import annotations

import json
import time
import uuid

from fastapi import APIRouter, status
from fastapi.responses import Response

from quarry.api.context import CallerDep, ContextDep
from quarry.api.errors import ApiError
from quarry.api.ops_schemas import FeedbackIn, FeedbackOut
from quarry.api.routes.prompts import operator_only
from quarry.api.routes.traces import visible_to
from quarry.api.wire import feedback_out
from quarry.evaluation.feedback_export import feedback_cases
from quarry.stores.ops import Feedback

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["feedback"])
NDJSON = "application/x-ndjson"


@router.post("/feedback", status_code=status.HTTP_201_CREATED)
def give_feedback(body: FeedbackIn, caller: CallerDep, context: ContextDep) -> FeedbackOut:
    """Thumbs up/down, a score, a comment or a correction for the answer with ``trace_id``."""
    caller.require("read")
    record = context.quarry.trace_store.trace(body.trace_id)
    if record is None or not visible_to(caller, record.attributes):
        raise ApiError(404, "trace_not_found", "no such trace for this key: give the trace_id of one of your answers")
    feedback = Feedback(
        id=uuid.uuid4().hex, trace_id=record.trace_id, rating=body.rating, score=body.score,
        comment=body.comment.strip(), correction=body.correction.strip(), key_id=caller.key.id,
        principals=tuple(caller.key.principals), created_at=time.time(),
    )  # fmt: skip
    context.quarry.feedback_store.add(feedback)
    context.metrics.observe_feedback(body.rating)
    return feedback_out(feedback)


@router.get(
    "/feedback/export",
    response_class=Response,
    responses={
        200: {"description": "QA JSONL, one case per line", "content": {NDJSON: {"schema": {"type": "string"}}}}
    },
)
def export_feedback(caller: CallerDep, context: ContextDep) -> Response:
    """Rated answers as QA JSONL cases (admin keys for every collection): see ``quarry feedback export``."""
    operator_only(caller)
    quarry = context.quarry
    result = feedback_cases(quarry.feedback_store.recent(10_000), quarry.trace_store)
    lines = "".join(json.dumps(case, ensure_ascii=False) + "\n" for case in result.cases)
    return Response(lines, media_type=NDJSON, headers={"X-Skipped": str(result.skipped)})
