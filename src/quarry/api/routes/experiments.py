"""``/v1/experiments``: start, read and stop A/B experiments (admin keys for every collection only).

Reading an experiment applies its stop rule, so a variant that hurts the guard metric is rolled back as soon as
anyone looks; the answer routes also check running experiments in the background every
:data:`CHECK_EVERY` answers.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from quarry.api.context import ApiContext, CallerDep, ContextDep
from quarry.api.errors import ApiError
from quarry.api.ops_schemas import NAME, ExperimentIn
from quarry.api.routes.prompts import operator_only
from quarry.assembly.operations import experiment_report
from quarry.errors import ConfigError, StoreError
from quarry.generation.registry import with_overrides
from quarry.settings import GenerationSettings
from quarry.stores.ops import Experiment, Variant

__all__ = ["router"]

router = APIRouter(prefix="/v1/experiments", tags=["experiments"])
ExperimentName = Annotated[str, Path(pattern=NAME)]


@router.get("")
def list_experiments(caller: CallerDep, context: ContextDep) -> list[dict[str, Any]]:
    operator_only(caller)
    return [dataclasses.asdict(e) for e in context.quarry.experiment_store.list()]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_experiment(body: ExperimentIn, caller: CallerDep, context: ContextDep) -> dict[str, Any]:
    operator_only(caller)
    quarry = context.quarry
    for v in body.variants:
        if v.prompt.split("@")[0] != body.prompt:
            raise ApiError(
                400, "invalid_experiment", f"variant {v.name} serves {v.prompt}, not a version of {body.prompt}"
            )
        try:
            quarry.prompts.template(v.prompt)
        except ConfigError as exc:
            raise ApiError(400, "invalid_experiment", f"{exc.message} ({exc.hint})") from None
    for v in body.variants:
        try:
            with_overrides(GenerationSettings(), v.settings)
        except ConfigError as exc:
            raise ApiError(400, "invalid_experiment", f"{v.name}: {exc.message} ({exc.hint})") from None
    if len({v.name for v in body.variants}) != len(body.variants):
        raise ApiError(400, "invalid_experiment", "variant names must differ")
    arms = tuple(Variant(v.name, v.prompt, v.weight, v.settings) for v in body.variants)
    experiment = Experiment(
        body.name, body.prompt, arms, body.guard_metric, body.margin, body.min_requests, body.alpha,
        collections=tuple(body.collections),
    )  # fmt: skip
    try:
        quarry.experiment_store.create(experiment)
    except StoreError as exc:
        raise ApiError(409, "experiment_conflict", f"{exc.message} ({exc.hint})") from None
    return _report(context, body.name)


@router.get("/{name}")
def get_experiment(name: ExperimentName, caller: CallerDep, context: ContextDep) -> dict[str, Any]:
    """Per-variant figures and tests against the control; applies the stop rule."""
    operator_only(caller)
    return _report(context, name)


@router.post("/{name}/stop")
def stop_experiment(name: ExperimentName, caller: CallerDep, context: ContextDep) -> dict[str, Any]:
    operator_only(caller)
    try:
        context.quarry.experiment_store.end(name, "stopped", f"stopped by key {caller.key.id}")
    except StoreError:
        raise ApiError(404, "experiment_not_found", f"no experiment {name!r}") from None
    return _report(context, name)


CHECK_EVERY = 50
_answers = itertools.count(1)


def check_after_answer(context: ApiContext) -> None:
    """Every :data:`CHECK_EVERY` answers, apply the stop rule of each running experiment (run as a background task)."""
    if next(_answers) % CHECK_EVERY:
        return
    quarry = context.quarry
    for experiment in quarry.experiment_store.list():
        if experiment.status == "running":
            experiment_report(experiment.name, quarry.experiment_store, quarry.trace_store, quarry.feedback_store)


def _report(context: ApiContext, name: str) -> dict[str, Any]:
    quarry = context.quarry
    try:
        report = experiment_report(name, quarry.experiment_store, quarry.trace_store, quarry.feedback_store)
    except ConfigError:
        raise ApiError(404, "experiment_not_found", f"no experiment {name!r}") from None
    return report.as_dict()
