"""Conformance suite for the model registry's store (:class:`quarry.stores.models.ModelStore`). Subclass in an
adapter's tests and override the ``models`` fixture."""

from __future__ import annotations

from dataclasses import replace

import pytest

from quarry.errors import StoreError
from quarry.stores.models import ModelEntry, ModelStore

__all__ = ["ModelStoreConformance"]


def _entry(target: str = "embedder:docs", model_id: str = "m", **kw: object) -> ModelEntry:
    return ModelEntry(target, "embedder", model_id, **kw)  # type: ignore[arg-type]


class ModelStoreConformance:
    @pytest.fixture
    def models(self) -> ModelStore:
        raise NotImplementedError("override the `models` fixture")

    def test_versions_are_numbered_per_target(self, models: ModelStore) -> None:
        first = models.add(_entry(model_id="base"))
        second = models.add(_entry(model_id="tuned", lineage={"data_hash": "abc"}, artifact="/m/tuned"))
        other = models.add(_entry("chat", "local:smollm2"))
        assert (first.id, second.id, other.id) == ("embedder:docs@v1", "embedder:docs@v2", "chat@v1")
        got = models.get("embedder:docs@v2")
        assert got is not None
        assert got.lineage == {"data_hash": "abc"}
        assert got.artifact == "/m/tuned"
        assert got.status == "candidate"
        assert got.created_at > 0
        assert [e.id for e in models.entries("embedder:docs")] == ["embedder:docs@v1", "embedder:docs@v2"]
        assert len(models.entries()) == 3
        assert models.get("embedder:docs@v9") is None
        assert models.get("not-an-id") is None

    def test_move_keeps_one_production_entry_and_records_history(self, models: ModelStore) -> None:
        base, tuned = models.add(_entry(model_id="base")), models.add(_entry(model_id="tuned"))
        first = models.move(base.target, base.id, by="ann", note="registered")
        second = models.move(tuned.target, tuned.id, forced=True, note="p = 0.2")
        back = models.move(base.target, base.id, rollback=True)
        assert (first.previous, second.previous, back.previous) == (None, base.id, tuned.id)
        statuses = {e.id: e.status for e in models.entries(base.target)}
        assert statuses == {base.id: "production", tuned.id: "archived"}
        history = models.moves(base.target)
        assert [m.entry for m in history] == [base.id, tuned.id, base.id]
        assert history[1].forced
        assert history[0].rollback
        assert history[2].by == "ann"
        with pytest.raises(StoreError):
            models.move(base.target, "embedder:docs@v7")

    def test_update_replaces_status_evaluations_and_index(self, models: ModelStore) -> None:
        entry = models.add(_entry())

        evaluations = {"dev": {"metric": "ndcg@10", "mean": 0.5, "per_query": {"q1": 0.5}}}
        changed = replace(entry, status="rejected", index="docs~shadow-1", evaluations=evaluations)
        models.update(changed)
        got = models.get(entry.id)
        assert got is not None
        assert got.status == "rejected"
        assert got.index == "docs~shadow-1"
        assert got.evaluations["dev"]["per_query"] == {"q1": 0.5}
        with pytest.raises(StoreError):
            models.update(replace(entry, version=99))
