"""The model registry: register tuned models with lineage and evaluations, promote them only when a paired test
says they beat production, roll back without re-training.

Embedders are per collection (target ``embedder:<collection>``): promoting one swaps its shadow collection in
(:func:`quarry.pipeline.reembed.swap_in`) and keeps the replaced vectors as the previous entry's index, so a
rollback is another swap. The chat target (``chat``) holds the local model and its LoRA adapters; the assembly
serves its production entry. The collection's recorded embedder is the truth for serving (a query is always
embedded with the model its index was built with); the registry's status follows it, and is reconciled when a
crash fell between a swap and its record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from quarry.embeddings.base import Embedder
from quarry.errors import ConfigError, QuarryError
from quarry.evaluation.stats import PairedTest, paired_test
from quarry.pipeline.reembed import OnProgress, drop_index, swap_in
from quarry.stores.base import Store
from quarry.stores.models import ModelEntry, ModelMove, ModelStore

__all__ = ["Gate", "ModelRegistry", "PromotionRefused", "embedder_target"]

EmbedderFor = Callable[[str], Embedder]


def embedder_target(collection: str) -> str:
    return f"embedder:{collection}"


def collection_of(target: str) -> str | None:
    return target.removeprefix("embedder:") if target.startswith("embedder:") else None


@dataclass(frozen=True, slots=True)
class Gate:
    """The paired comparison a promotion is decided on (candidate minus production, per question)."""

    eval_set: str
    metric: str
    production: float
    candidate: float
    test: PairedTest
    alpha: float

    @property
    def passed(self) -> bool:
        return self.test.difference.mean > 0 and self.test.p_value < self.alpha

    def describe(self) -> str:
        ci = self.test.difference
        return (
            f"{self.metric} on {self.eval_set}: {self.candidate:.4f} vs production {self.production:.4f} "
            f"({ci.mean:+.4f}, 95% CI [{ci.low:+.4f}, {ci.high:+.4f}], p = {self.test.p_value:.4f}, "
            f"n = {self.test.n}, needed p < {self.alpha})"
        )


class PromotionRefused(QuarryError):
    def __init__(self, message: str, *, gate: Gate | None = None, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.gate = gate


class ModelRegistry:
    def __init__(self, models: ModelStore, store: Store, embedder_for: EmbedderFor, *, alpha: float = 0.05) -> None:
        self.models, self.store, self.embedder_for, self.alpha = models, store, embedder_for, alpha

    # -- reading

    def get(self, entry_id: str) -> ModelEntry:
        entry = self.models.get(entry_id)
        if entry is None:
            raise ConfigError(f"no model entry {entry_id!r}", key="model", hint="`quarry models list` shows the ids")
        return entry

    def production(self, target: str) -> ModelEntry | None:
        return next((e for e in self.models.entries(target) if e.status == "production"), None)

    def ensure_base(self, target: str, *, model_id: str, kind: str, artifact: str = "") -> ModelEntry:
        """The production entry of ``target``, registering what serves today (the packaged model) as v1."""
        self.reconcile(target)
        current = self.production(target)
        if current is not None:
            return current
        base = self.models.add(ModelEntry(target, kind, model_id, artifact=artifact, base=model_id,  # type: ignore[arg-type]
                                          lineage={"packaged": True}))  # fmt: skip
        self.models.move(target, base.id, note="registered the model serving before any tuning")
        return self.get(base.id)

    def reconcile(self, target: str) -> ModelMove | None:
        """For an embedder target: make the entry whose model made the collection's vectors production."""
        collection = collection_of(target)
        if collection is None:
            return None
        serving = self.store.collection(collection).embedder
        entries = self.models.entries(target)
        current = next((e for e in entries if e.status == "production"), None)
        if current is None or current.model_id == serving:
            return None
        match = next((e for e in reversed(entries) if e.model_id == serving), None)
        if match is None:
            return None
        return self.models.move(target, match.id, note="reconciled with the collection's vectors")

    # -- writing

    def attach_evaluation(self, entry_id: str, eval_set: str, metric: str, per_query: Mapping[str, float],
                          **extra: Any) -> ModelEntry:  # fmt: skip
        entry = self.get(entry_id)
        scores = {str(k): float(v) for k, v in per_query.items()}
        result = {"metric": metric, "mean": float(np.mean(list(scores.values()))) if scores else 0.0,
                  "per_query": scores, **extra}  # fmt: skip
        return self.models.update(replace(entry, evaluations={**entry.evaluations, eval_set: result}))

    def gate(self, candidate: ModelEntry, production: ModelEntry, eval_set: str | None = None) -> Gate:
        name = eval_set or _shared_eval_set(candidate, production)
        mine, theirs = candidate.evaluations.get(name), production.evaluations.get(name)
        if mine is None or theirs is None:
            raise PromotionRefused(
                f"{candidate.id} and {production.id} have no common evaluation {name!r}",
                hint="evaluate both on the same set (quarry tune … does), or promote with --force",
            )
        ids = sorted(set(mine["per_query"]) & set(theirs["per_query"]))
        if len(ids) < 2:
            raise PromotionRefused(f"evaluation {name!r} shares fewer than 2 questions", hint="evaluate on more")
        base = [theirs["per_query"][i] for i in ids]
        new = [mine["per_query"][i] for i in ids]
        test = paired_test(base, new)
        return Gate(name, str(mine["metric"]), float(np.mean(base)), float(np.mean(new)), test, self.alpha)

    def promote(self, entry_id: str, *, eval_set: str | None = None, force: bool = False, by: str = "",
                note: str = "", progress: OnProgress | None = None) -> tuple[ModelMove, Gate | None]:  # fmt: skip
        candidate = self.get(entry_id)
        self.reconcile(candidate.target)
        current = self.production(candidate.target)
        if current is not None and current.id == candidate.id:
            raise PromotionRefused(f"{entry_id} is already production")
        gate = None
        if current is not None:
            try:
                gate = self.gate(candidate, current, eval_set)
            except PromotionRefused:
                if not force:
                    raise
            if gate is not None and not gate.passed and not force:
                raise PromotionRefused(f"{entry_id} is not significantly better than {current.id}: {gate.describe()}",
                                       gate=gate, hint="tune further, or promote with --force (recorded)")  # fmt: skip
        self._serve(candidate, current, progress)
        why = " ".join(p for p in (note, gate.describe() if gate else "") if p)
        return self.models.move(candidate.target, entry_id, by=by, note=why, forced=force), gate

    def rollback(self, target: str, *, by: str = "", note: str = "",
                 progress: OnProgress | None = None) -> ModelMove:  # fmt: skip
        self.reconcile(target)
        current = self.production(target)
        history = [m for m in self.models.moves(target) if current is not None and m.entry == current.id]
        previous_id = next((m.previous for m in history if m.previous), None)
        if current is None or previous_id is None:
            raise ConfigError(f"{target} has no previous production entry to roll back to", key="target")
        previous = self.get(previous_id)
        self._serve(previous, current, progress)
        return self.models.move(target, previous.id, by=by, note=note or f"rolled back from {current.id}",
                                rollback=True)  # fmt: skip

    def _serve(self, entry: ModelEntry, current: ModelEntry | None, progress: OnProgress | None) -> None:
        """Embedders: swap the entry's index in; the replaced vectors become ``current``'s index."""
        collection = collection_of(entry.target)
        if collection is None:
            return
        if not entry.index:
            raise PromotionRefused(f"{entry.id} has no index to swap in (it was garbage-collected)",
                                   hint="re-embed it: quarry models reindex " + entry.id)  # fmt: skip
        swap_in(self.store, collection, entry.index, self.embedder_for(entry.model_id), progress=progress)
        if current is not None:
            self.models.update(replace(current, index=entry.index))
        self.models.update(replace(self.get(entry.id), index=""))

    def gc(self, *, keep_previous: bool = True) -> list[str]:
        """Delete kept/shadow indexes of entries that can no longer be rolled back to; the names dropped."""
        dropped: list[str] = []
        for target in sorted({e.target for e in self.models.entries()}):
            moves = self.models.moves(target)
            keep = {moves[0].previous} if keep_previous and moves and moves[0].previous else set()
            for entry in self.models.entries(target):
                if entry.index and entry.status in ("archived", "rejected") and entry.id not in keep:
                    if drop_index(self.store, entry.index):
                        dropped.append(entry.index)
                    self.models.update(replace(entry, index=""))
        return dropped


def _shared_eval_set(candidate: ModelEntry, production: ModelEntry) -> str:
    shared: Sequence[str] = [name for name in candidate.evaluations if name in production.evaluations]
    if not shared:
        raise PromotionRefused(
            f"{candidate.id} and {production.id} were not evaluated on a common set",
            hint="evaluate both on the same set, or promote with --force (recorded)",
        )
    return shared[-1]
