"""Rows of the operations tables, shared by every engine's adapters: how a prompt version and an experiment
are encoded (a JSON ``body`` column beside the indexed ones) and how rows become values again."""

from __future__ import annotations

import json
from typing import Any, Protocol, cast

from quarry.stores.ops import Experiment, ExperimentStatus, Feedback, StoredPrompt, Variant

__all__ = ["Row", "experiment_body", "experiment_of", "feedback_of", "prompt_body", "prompt_of"]


class Row(Protocol):
    """A database row read by column name (``sqlite3.Row``, a psycopg ``dict_row``)."""

    def __getitem__(self, key: str, /) -> Any: ...


def prompt_body(prompt: StoredPrompt) -> str:
    return json.dumps({
        "system": prompt.system, "user": prompt.user, "variables": dict(prompt.variables),
        "description": prompt.description, "abstain_marker": prompt.abstain_marker,
        "source_titles": prompt.source_titles, "stop": list(prompt.stop),
    })  # fmt: skip


def experiment_body(experiment: Experiment) -> str:
    return json.dumps({
        "variants": [[v.name, v.prompt, v.weight, dict(v.settings)] for v in experiment.variants],
        "guard_metric": experiment.guard_metric, "margin": experiment.margin,
        "min_requests": experiment.min_requests, "alpha": experiment.alpha,
        "collections": list(experiment.collections),
    })  # fmt: skip


def prompt_of(row: Row) -> StoredPrompt:
    body = json.loads(row["body"])
    return StoredPrompt(
        name=row["name"], version=int(row["version"]), system=body["system"], user=body["user"],
        variables=body["variables"], description=body["description"], abstain_marker=body["abstain_marker"],
        source_titles=bool(body["source_titles"]), stop=tuple(body["stop"]), created_at=row["created_at"],
        created_by=row["created_by"],
    )  # fmt: skip


def experiment_of(row: Row) -> Experiment:
    body = json.loads(row["body"])
    return Experiment(
        name=row["name"], prompt=row["prompt"],
        variants=tuple(_variant(v) for v in body["variants"]),
        guard_metric=body["guard_metric"], margin=float(body["margin"]), min_requests=int(body["min_requests"]),
        alpha=float(body["alpha"]), status=cast(ExperimentStatus, row["status"]), reason=row["reason"],
        created_at=row["created_at"], ended_at=row["ended_at"], collections=tuple(body.get("collections", ())),
    )  # fmt: skip


def _variant(stored: list[Any]) -> Variant:
    return Variant(str(stored[0]), str(stored[1]), float(stored[2]), stored[3] if len(stored) > 3 else {})


def feedback_of(row: Row) -> Feedback:
    return Feedback(
        row["id"], row["trace_id"], row["rating"], row["score"], row["comment"], row["correction"], row["key_id"],
        tuple(json.loads(row["principals"])), row["created_at"],
    )  # fmt: skip
