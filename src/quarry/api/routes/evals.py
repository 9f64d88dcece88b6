"""``/v1/evals``: stored evaluation runs (``quarry eval answers``, ``quarry eval retrieval``) for reading and comparing.

Runs hold questions, answers and passages from every collection they covered, so only admin keys for every
collection may read them (the same rule as prompts and experiments).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from quarry.api.context import CallerDep, ContextDep
from quarry.api.errors import ApiError
from quarry.api.security import Caller
from quarry.errors import ConfigError
from quarry.evaluation.catalog import compare, list_evaluations, runs_folder, show_evaluation

__all__ = ["router"]

router = APIRouter(prefix="/v1/evals", tags=["evaluations"])
RunId = Annotated[str, Query(min_length=1, max_length=200)]


def _operator(caller: Caller) -> None:
    caller.require("admin")
    if not caller.operator:
        raise ApiError(403, "forbidden", "evaluation runs span collections: this needs an admin key for all of them")


def _not_found(exc: ConfigError) -> ApiError:
    return ApiError(404, "eval_not_found", f"{exc.message} ({exc.hint})" if exc.hint else exc.message)


@router.get("")
def list_runs(caller: CallerDep, context: ContextDep) -> list[dict[str, Any]]:
    """Stored runs of both kinds, newest first, each with its headline metric."""
    _operator(caller)
    return list_evaluations(runs_folder(context.settings))


@router.get("/run")
def get_run(caller: CallerDep, context: ContextDep, run_id: Annotated[str, Query(alias="id", min_length=1)]) -> Any:
    """One run: every metric with its 95% CI, timing, cost, score histogram and the worst questions."""
    _operator(caller)
    try:
        return show_evaluation(runs_folder(context.settings), run_id)
    except ConfigError as exc:
        raise _not_found(exc) from exc


@router.get("/compare")
def compare_runs(caller: CallerDep, context: ContextDep, baseline: RunId, candidate: RunId) -> dict[str, Any]:
    """``candidate`` − ``baseline`` per metric on the questions both scored, with a paired test's p-value."""
    _operator(caller)
    try:
        return compare(runs_folder(context.settings), baseline, candidate)
    except ConfigError as exc:
        if "different questions" in exc.message:
            raise ApiError(400, "not_comparable", f"{exc.message} ({exc.hint})") from exc
        raise _not_found(exc) from exc
