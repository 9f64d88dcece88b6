"""A tiny real fine-tuning run: the exported model runs through the default embedder adapter, its vectors moved
towards the training pairs, and a killed run resumes from its checkpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from quarry.embeddings import MiniLMEmbedder
from quarry.tuning.embedder_training import base_model_dir
from quarry.tuning.onnx_export import export_onnx

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


_TRAIN = """
import sys
from pathlib import Path
from quarry.evaluation import load_beir
from quarry.tuning.embedder_training import EmbedderTraining, train_embedder
from quarry.tuning.pairs import judged_pairs
pairs = judged_pairs(load_beir(Path(sys.argv[1]), "train"))
settings = EmbedderTraining(batch_size=4, max_passage_tokens=64, max_steps=4, checkpoint_every=1)
done = train_embedder(pairs, Path(sys.argv[2]), settings)
print("resumed_from", done.resumed_from, "steps", done.steps, "losses", len(done.losses))
"""


def test_a_killed_run_resumes_from_its_checkpoint(mini_scifact: Path, tmp_path: Path) -> None:
    command = [sys.executable, "-c", _TRAIN, str(mini_scifact), str(tmp_path)]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    checkpoint = tmp_path / "checkpoint.pt"
    deadline = time.monotonic() + 240
    while not checkpoint.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert checkpoint.exists(), "no checkpoint was written"
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    out = subprocess.run(command, capture_output=True, text=True, timeout=600, check=True).stdout.split()
    resumed, steps, losses = int(out[1]), int(out[3]), int(out[5])
    assert resumed >= 1
    assert (steps, losses) == (4, 4)  # the losses before the kill came back with the checkpoint
    assert (tmp_path / "weights").is_dir() and not checkpoint.exists()
