"""A tiny real fine-tuning run: the exported model runs through the default embedder adapter, its vectors moved
towards the training pairs, and a stopped run resumes from its checkpoint."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from quarry.embeddings import MiniLMEmbedder
from quarry.evaluation import load_beir
from quarry.tuning.budget import Progress
from quarry.tuning.embedder_training import EmbedderTraining, base_model_dir, train_embedder
from quarry.tuning.onnx_export import export_onnx
from quarry.tuning.pairs import judged_pairs

from .conftest import TunedModel


def _margin(embedder: MiniLMEmbedder, pairs: list, negatives: list[str]) -> float:
    """Mean cosine of each query with its positive minus with a passage of another query."""
    queries = np.stack([embedder.embed_query(p.query) for p in pairs])
    positives = embedder.embed([p.positive for p in pairs])
    others = embedder.embed(negatives)
    return float(np.mean(np.sum(queries * positives, axis=1) - np.sum(queries * others, axis=1)))


def test_the_tuned_model_loads_through_the_adapter_and_moved_towards_its_pairs(tuned_model: TunedModel) -> None:
    packaged = MiniLMEmbedder()
    tuned = MiniLMEmbedder(model_path=tuned_model.artifact / "model.int8.onnx", query_model="packaged",
                           model_id=tuned_model.model_id)  # fmt: skip
    assert tuned.model_id == tuned_model.model_id != packaged.model_id
    texts = ["Vitamin D deficiency is common in the elderly.", "BRCA1 mutations raise breast cancer risk."]
    a, b = packaged.embed(texts), tuned.embed(texts)
    cosines = np.sum(a * b, axis=1)
    assert b.shape == (2, 384) and np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    assert np.all(cosines > 0.8) and np.all(cosines < 0.9999)  # the same space, moved by training
    pairs = tuned_model.pairs[:32]
    negatives = [pairs[(i + 7) % len(pairs)].positive for i in range(len(pairs))]
    assert _margin(tuned, pairs, negatives) > _margin(packaged, pairs, negatives)


def test_exporting_the_untrained_weights_reproduces_the_packaged_model(tmp_path: Path) -> None:
    exported = export_onnx(base_model_dir(), tmp_path)
    ours = MiniLMEmbedder(model_path=exported.int8, query_model="packaged", model_id="export-check")
    texts = ["Vitamin D deficiency is common in the elderly.", "The IBM 1401 ran Fortran programs."]
    assert np.all(np.sum(ours.embed(texts) * MiniLMEmbedder().embed(texts), axis=1) > 0.98)


class _Stop(Exception):
    """Stands for Ctrl-C or a lost machine in the middle of training."""


def test_a_stopped_run_resumes_from_its_checkpoint(mini_scifact: Path, tmp_path: Path) -> None:
    pairs = judged_pairs(load_beir(mini_scifact, "train"))
    settings = EmbedderTraining(batch_size=4, max_passage_tokens=64, max_steps=5, checkpoint_every=2)

    def stop_at_three(progress: Progress) -> None:
        if progress.step == 3:
            raise _Stop

    with pytest.raises(_Stop):
        train_embedder(pairs, tmp_path, settings, progress=stop_at_three)
    assert (tmp_path / "checkpoint.pt").is_file() and not (tmp_path / "weights").exists()
    seen: list[int] = []
    done = train_embedder(pairs, tmp_path, settings, progress=lambda p: seen.append(p.step))
    assert done.resumed_from == 2 and seen == [3, 4, 5] and done.steps == 5
    assert len(done.losses) == 5  # the two steps before the stop came back with the checkpoint
    assert (tmp_path / "weights").is_dir() and not (tmp_path / "checkpoint.pt").exists()


def test_each_whole_epoch_is_reported_with_the_model_in_eval_mode(mini_scifact: Path, tmp_path: Path) -> None:
    pairs = judged_pairs(load_beir(mini_scifact, "train"))[:8]
    settings = EmbedderTraining(epochs=2, batch_size=4, max_passage_tokens=32)
    steps: list[int] = []
    epochs: list[tuple[int, int, bool]] = []
    done = train_embedder(
        pairs,
        tmp_path,
        settings,
        progress=lambda p: steps.append(p.step),
        on_epoch=lambda epoch, model: epochs.append((epoch, steps[-1], model.training)),
    )
    assert done.steps == 4 and epochs == [(1, 2, False), (2, 4, False)]


def test_the_cached_loss_gives_the_parameters_the_gradient_of_the_one_pass_loss(mini_scifact: Path) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    from quarry.tuning.embedder_training import _cached_loss, _loss

    pairs = judged_pairs(load_beir(mini_scifact, "train"))[:7]
    batch = [replace(p, negative=pairs[(i + 3) % 7].positive) if i % 2 else p for i, p in enumerate(pairs)]
    settings = EmbedderTraining(batch_size=7, mini_batch=3, max_passage_tokens=48)
    model = SentenceTransformer(str(base_model_dir()), device="cpu").eval()  # no dropout: the passes must agree

    def gradients(loss_of: Callable[[], Any]) -> tuple[float, list[Any]]:
        model.zero_grad()
        loss = loss_of()
        return float(loss.detach()), [p.grad.clone() for p in model.parameters() if p.grad is not None]

    def one_pass() -> Any:
        loss = _loss(model, batch, settings, torch)
        loss.backward()
        return loss

    whole, expected = gradients(one_pass)
    cached, got = gradients(lambda: _cached_loss(model, batch, settings, 3, torch))
    assert cached == pytest.approx(whole, rel=1e-5) and len(got) == len(expected) > 50
    assert all(torch.allclose(g, e, atol=1e-6, rtol=1e-3) for g, e in zip(got, expected, strict=True))
    assert any(float(e.abs().max()) > 1e-4 for e in expected)  # a real gradient, not zeros agreeing


def test_training_runs_on_its_own_thread_count_whatever_the_process_had_set(mini_scifact: Path, tmp_path: Path) -> None:
    import os

    import torch

    pairs = judged_pairs(load_beir(mini_scifact, "train"))[:4]
    settings = EmbedderTraining(batch_size=4, max_passage_tokens=32, max_steps=1)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)  # as a reranker with threads = 1 leaves it, process-wide
        train_embedder(pairs, tmp_path / "all", settings)
        assert torch.get_num_threads() == os.cpu_count()
        train_embedder(pairs, tmp_path / "one", replace(settings, threads=1))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_a_batch_larger_than_the_distinct_pairs_still_trains(mini_scifact: Path, tmp_path: Path) -> None:
    pairs = judged_pairs(load_beir(mini_scifact, "train"))
    twice = next(q for q in {p.query for p in pairs} if sum(p.query == q for p in pairs) > 1)  # two documents
    few = [p for p in pairs if p.query == twice] + [p for p in pairs if p.query != twice][:2]
    settings = EmbedderTraining(epochs=2, batch_size=len(few), max_passage_tokens=32)
    done = train_embedder(few, tmp_path, settings)  # one batch can hold only one of ``twice``'s pairs
    assert done.steps == 2 and len(done.losses) == 2
