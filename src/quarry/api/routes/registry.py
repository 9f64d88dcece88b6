"""``/v1/model-registry``: the model registry over HTTP (admin keys for every collection only), as
``quarry models list|show|promote|rollback``. (``/v1/models`` is the OpenAI-compatible model list.)

Promoting an embedder swaps its shadow index in during the request (catching up with writes made since it was
built); a refused promotion is a 409 that carries the paired comparison. A promoted (or rolled back) chat adapter
is served by this process from its next call, and by every other serving process within ``[tuning] reload_s``."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from quarry.api.context import CallerDep, ContextDep
from quarry.api.errors import ApiError
from quarry.api.routes.prompts import operator_only
from quarry.errors import ConfigError
from quarry.tuning.registry import Gate, PromotionRefused

__all__ = ["router"]

router = APIRouter(prefix="/v1/model-registry", tags=["model registry"])
EntryId = Annotated[str, Path(pattern=r"^[A-Za-z0-9:_.~-]{1,200}@v[0-9]{1,9}$", description="<target>@v<n>")]


class PromoteModelIn(BaseModel):
    force: bool = Field(False, description="promote even if not significantly better (recorded as forced)")
    eval_set: str | None = Field(None, max_length=200, description="the evaluation to gate on (default: last shared)")
    note: str = Field("", max_length=2000)


class RollbackModelIn(BaseModel):
    target: str = Field(max_length=200, description="embedder:<collection> or chat")
    note: str = Field("", max_length=2000)


def _gate(gate: Gate | None) -> dict[str, Any] | None:
    if gate is None:
        return None
    d = gate.test.difference
    return {"eval_set": gate.eval_set, "metric": gate.metric, "production": gate.production,
            "candidate": gate.candidate, "difference": d.mean, "ci_low": d.low, "ci_high": d.high,
            "p_value": gate.test.p_value, "n": gate.test.n, "alpha": gate.alpha, "passed": gate.passed}  # fmt: skip


@router.get("")
def list_entries(caller: CallerDep, context: ContextDep) -> list[dict[str, Any]]:
    """Every embedder, chat model and adapter entry (status, evaluation means) and every prompt version."""
    from quarry.assembly.tuning import registry_listing

    operator_only(caller)
    return registry_listing(context.quarry)


@router.get("/{entry_id}")
def get_entry(entry_id: EntryId, caller: CallerDep, context: ContextDep) -> dict[str, Any]:
    """One entry: lineage, evaluations (means and question counts), its index, and its target's moves."""
    from quarry.assembly.tuning import model_registry

    operator_only(caller)
    registry = model_registry(context.quarry)
    entry = context.quarry.model_store.get(entry_id)
    if entry is None:
        raise ApiError(404, "model_not_found", f"no model entry {entry_id!r}")
    data = dataclasses.asdict(entry) | {"id": entry.id}
    data["evaluations"] = {k: {x: y for x, y in v.items() if x != "per_query"} | {"questions": len(v["per_query"])}
                           for k, v in entry.evaluations.items()}  # fmt: skip
    data["moves"] = [dataclasses.asdict(m) for m in registry.models.moves(entry.target)]
    return data


@router.post("/{entry_id}/promote")
def promote(entry_id: EntryId, body: PromoteModelIn, caller: CallerDep, context: ContextDep) -> dict[str, Any]:
    """Make the entry production if a paired test says it beats production (or ``force``, recorded)."""
    from quarry.assembly.tuning import model_registry

    operator_only(caller)
    registry = model_registry(context.quarry)
    if context.quarry.model_store.get(entry_id) is None:
        raise ApiError(404, "model_not_found", f"no model entry {entry_id!r}")
    try:
        move, gate = registry.promote(entry_id, eval_set=body.eval_set, force=body.force, by=caller.key.id,
                                      note=body.note)  # fmt: skip
    except PromotionRefused as exc:
        detail = f"{exc.message}" + (f" ({exc.hint})" if exc.hint else "")
        raise ApiError(409, "promotion_refused", detail) from None
    context.quarry.refresh_chat_model()
    return {"move": dataclasses.asdict(move), "gate": _gate(gate)}


@router.post("/rollback")
def rollback(body: RollbackModelIn, caller: CallerDep, context: ContextDep) -> dict[str, Any]:
    """Serve the target's previous production entry again (embedders: the kept index swaps back)."""
    from quarry.assembly.tuning import model_registry

    operator_only(caller)
    try:
        move = model_registry(context.quarry).rollback(body.target, by=caller.key.id, note=body.note)
    except ConfigError as exc:
        raise ApiError(409, "nothing_to_roll_back", exc.message) from None
    context.quarry.refresh_chat_model()
    return {"move": dataclasses.asdict(move)}
