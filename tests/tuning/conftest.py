"""A small real SciFact (BEIR) slice: judged train and test queries with their documents, plus distractors."""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from quarry.evaluation import load_beir
from quarry.tuning.embedder_training import EmbedderTraining, train_embedder
from quarry.tuning.onnx_export import export_onnx
from quarry.tuning.pairs import TrainingPair, judged_pairs


def _qrels(path: Path) -> dict[str, list[str]]:
    judged: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        qid, doc, _ = line.split("\t")
        judged.setdefault(qid, []).append(doc)
    return judged


def build_slice(scifact: Path, out: Path, *, train: int, test: int, distractors: int, seed: int = 0) -> Path:
    """Write a BEIR folder with ``train``/``test`` judged queries of SciFact, their documents and distractors."""
    splits = {name: dict(list(_qrels(scifact / "qrels" / f"{name}.tsv").items())[:n])
              for name, n in (("train", train), ("test", test))}  # fmt: skip
    wanted = {doc for split in splits.values() for docs in split.values() for doc in docs}
    with gzip.open(scifact / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
        corpus = [json.loads(line) for line in f]
    others = [d for d in corpus if d["_id"] not in wanted]
    random.Random(seed).shuffle(others)
    keep = [d for d in corpus if d["_id"] in wanted] + others[:distractors]
    qids = {qid for split in splits.values() for qid in split}
    with gzip.open(scifact / "queries.jsonl.gz", "rt", encoding="utf-8") as f:
        queries = [q for q in map(json.loads, f) if q["_id"] in qids]
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    (out / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in keep), encoding="utf-8")
    (out / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries), encoding="utf-8")
    for name, split in splits.items():
        rows = [f"{qid}\t{doc}\t1" for qid, docs in split.items() for doc in docs]
        (out / "qrels" / f"{name}.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(rows) + "\n")
    return out


@pytest.fixture(scope="session")
def mini_scifact(datasets: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_slice(datasets / "scifact", tmp_path_factory.mktemp("mini-scifact"), train=48, test=24,
                       distractors=120)  # fmt: skip


@dataclass(frozen=True)
class TunedModel:
    model_id: str
    artifact: Path  # holds model.int8.onnx
    losses: list[float]
    pairs: list[TrainingPair]


@pytest.fixture(scope="session")
def tuned_model(mini_scifact: Path, tmp_path_factory: pytest.TempPathFactory) -> TunedModel:
    """A real (tiny) fine-tuning run of the packaged MiniLM on SciFact train pairs, exported to ONNX + int8."""
    pairs = judged_pairs(load_beir(mini_scifact, "train"))
    work = tmp_path_factory.mktemp("tuned")
    settings = EmbedderTraining(batch_size=4, max_passage_tokens=128, learning_rate=5e-5, max_steps=24, seed=1)
    trained = train_embedder(pairs, work, settings)
    exported = export_onnx(trained.path, work / "onnx")
    artifact = work / "artifact"
    artifact.mkdir()
    exported.int8.rename(artifact / "model.int8.onnx")
    return TunedModel("all-MiniLM-L6-v2-int8+tuned.test", artifact, trained.losses, pairs)
