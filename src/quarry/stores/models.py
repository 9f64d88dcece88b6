"""The model registry's state: every tuned (or packaged) embedder, chat model and LoRA adapter as an entry with
its lineage, evaluations and status, and the history of which entry served each target.

A *target* is what entries compete for: ``embedder:<collection>`` (the model a collection's vectors are made
with) or ``chat`` (the local chat model and its adapter). At most one entry per target is ``production``;
:meth:`ModelStore.move` makes one production and archives the one before it in one transaction, and records
the move, so a rollback is a move back. Adapters: :mod:`quarry.stores.sqlite.models` (``<store>.ops.db``) and
:mod:`quarry.stores.postgres.models`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

__all__ = [
    "ADAPTER_FILE",
    "ModelEntry",
    "ModelKind",
    "ModelMove",
    "ModelStatus",
    "ModelStore",
    "entry_body",
    "entry_of",
    "split_id",
]

ModelKind = Literal["embedder", "chat", "adapter", "prompt"]
ModelStatus = Literal["candidate", "production", "archived", "rejected"]

ADAPTER_FILE = "adapter.gguf"  # the GGUF LoRA file in an adapter entry's artifact folder


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """One registered model. ``id`` is ``<target>@v<version>``, assigned by the store.

    ``model_id`` is the identity vectors or answers are tagged with (an embedder's ``model_id``, a chat model's);
    ``artifact`` the folder holding its files; ``lineage`` the base, data hash, hyper-parameters and code
    version; ``evaluations`` maps an eval-set name to ``{"metric", "mean", "per_query": {id: score}, …}``;
    ``index`` the collection holding this embedder's vectors while it is not production (shadow or kept)."""

    target: str
    kind: ModelKind
    model_id: str
    artifact: str = ""
    base: str = ""
    status: ModelStatus = "candidate"
    lineage: Mapping[str, Any] = field(default_factory=dict)
    evaluations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    index: str = ""
    version: int = 0
    created_at: float = 0.0
    created_by: str = ""

    @property
    def id(self) -> str:
        return f"{self.target}@v{self.version}"

    @property
    def adapter_file(self) -> Path | None:
        """The GGUF LoRA file llama.cpp loads for an ``adapter`` entry; None for any other kind."""
        return Path(self.artifact) / ADAPTER_FILE if self.kind == "adapter" and self.artifact else None


@dataclass(frozen=True, slots=True)
class ModelMove:
    """``entry`` became production of ``target`` (``previous`` before it), by whom, why, and whether forced."""

    target: str
    entry: str
    previous: str | None
    at: float
    by: str = ""
    note: str = ""
    forced: bool = False
    rollback: bool = False


class ModelStore(Protocol):
    def add(self, entry: ModelEntry) -> ModelEntry:
        """Store a new entry with the next version of its target (``entry.version`` is ignored)."""
        ...

    def get(self, entry_id: str) -> ModelEntry | None: ...

    def entries(self, target: str | None = None) -> list[ModelEntry]:
        """Entries (of one target, or all), by target then version."""
        ...

    def update(self, entry: ModelEntry) -> ModelEntry:
        """Replace a stored entry's status, evaluations, lineage and index (the id must exist)."""
        ...

    def move(self, target: str, entry_id: str, *, by: str = "", note: str = "", forced: bool = False,
             rollback: bool = False) -> ModelMove:  # fmt: skip
        """Make ``entry_id`` production of ``target``; the previous production entry becomes archived."""
        ...

    def moves(self, target: str) -> list[ModelMove]:
        """Moves of one target, newest first."""
        ...

    def close(self) -> None: ...


def entry_body(entry: ModelEntry) -> str:
    """The JSON column every adapter stores an entry's fields in (besides its keys)."""
    body = asdict(entry)
    for key in ("target", "version", "status", "created_at"):
        body.pop(key)
    return json.dumps(body, sort_keys=True)


def entry_of(target: str, version: int, status: str, created_at: float, body: str) -> ModelEntry:
    fields = json.loads(body)
    return ModelEntry(target=target, version=version, status=status, created_at=created_at, **fields)  # type: ignore[arg-type]


def split_id(entry_id: str) -> tuple[str, int]:
    """``embedder:scifact@v3`` → ``("embedder:scifact", 3)``; ValueError for anything else."""
    target, sep, version = entry_id.rpartition("@v")
    if not sep or not target or not version.isdigit():
        raise ValueError(f"not a model entry id: {entry_id!r} (expected <target>@v<version>)")
    return target, int(version)
