"""``/v1/prompts``: the prompt registry over HTTP (admin keys for every collection only).

Versions are immutable; ``promote`` and ``rollback`` move a label, and the next answer uses it (no restart).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from quarry.api.context import CallerDep, ContextDep
from quarry.api.errors import ApiError
from quarry.api.ops_schemas import NAME, LabelMoveOut, PromoteIn, PromptIn, PromptOut, RollbackIn
from quarry.api.security import Caller
from quarry.errors import ConfigError
from quarry.generation.prompts import PromptTemplate
from quarry.stores.ops import LabelMove

__all__ = ["operator_only", "router"]

router = APIRouter(prefix="/v1/prompts", tags=["prompts"])
PromptName = Annotated[str, Path(pattern=NAME)]


def operator_only(caller: Caller) -> None:
    caller.require("admin")
    if not caller.operator:
        raise ApiError(
            403, "forbidden", "prompts and experiments are global: this needs an admin key for every collection"
        )


def _config_error(exc: ConfigError) -> ApiError:
    code = 404 if exc.message.startswith("no prompt") else 400
    return ApiError(code, "prompt_not_found" if code == 404 else "invalid_prompt", f"{exc.message} ({exc.hint})")


@router.get("")
def list_prompts(caller: CallerDep, context: ContextDep) -> list[dict[str, Any]]:
    """Every prompt with its versions, labels and the version it serves now."""
    operator_only(caller)
    registry = context.quarry.prompts
    return [dataclasses.asdict(registry.summary(n)) for n in registry.names()]


@router.get("/{name}/versions/{version}")
def get_version(
    name: PromptName, version: Annotated[int, Path(ge=1, le=999_999)], caller: CallerDep, context: ContextDep
) -> PromptOut:
    operator_only(caller)
    try:
        return _out(context.quarry.prompts.template(f"{name}@{version}"))
    except ConfigError as exc:
        raise _config_error(exc) from None


@router.post("/{name}/versions", status_code=status.HTTP_201_CREATED)
def create_version(name: PromptName, body: PromptIn, caller: CallerDep, context: ContextDep) -> PromptOut:
    """A new immutable version; unknown or missing variables are a 400 naming them."""
    operator_only(caller)
    try:
        made = context.quarry.prompts.create(
            name, system=body.system, user=body.user, variables=body.variables, description=body.description,
            abstain_marker=body.abstain_marker, source_titles=body.source_titles, stop=tuple(body.stop),
            by=caller.key.id,
        )  # fmt: skip
    except ConfigError as exc:
        raise _config_error(exc) from None
    return _out(made)


@router.get("/{name}/diff")
def diff(
    name: PromptName,
    caller: CallerDep,
    context: ContextDep,
    old: Annotated[int, Query(ge=1, le=999_999)],
    new: Annotated[int, Query(ge=1, le=999_999)],
) -> dict[str, str]:
    operator_only(caller)
    try:
        return {"diff": context.quarry.prompts.diff(f"{name}@{old}", f"{name}@{new}")}
    except ConfigError as exc:
        raise _config_error(exc) from None


@router.post("/{name}/promote")
def promote(name: PromptName, body: PromoteIn, caller: CallerDep, context: ContextDep) -> LabelMoveOut:
    operator_only(caller)
    try:
        return _move(context.quarry.prompts.promote(name, body.version, label=body.label, by=caller.key.id))
    except ConfigError as exc:
        raise _config_error(exc) from None


@router.post("/{name}/rollback")
def rollback(name: PromptName, body: RollbackIn, caller: CallerDep, context: ContextDep) -> LabelMoveOut:
    operator_only(caller)
    try:
        return _move(context.quarry.prompts.rollback(name, label=body.label, by=caller.key.id))
    except ConfigError as exc:
        raise ApiError(409, "nothing_to_roll_back", f"{exc.message} ({exc.hint})") from None


def _out(t: PromptTemplate) -> PromptOut:
    return PromptOut(
        ref=t.ref, name=t.name, version=t.version, description=t.description, system=t.system, user=t.user,
        abstain_marker=t.abstain_marker, source_titles=t.source_titles, stop=list(t.stop),
    )  # fmt: skip


def _move(m: LabelMove) -> LabelMoveOut:
    return LabelMoveOut(name=m.name, label=m.label, version=m.version, previous=m.previous, at=m.at, note=m.note)
