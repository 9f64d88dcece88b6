"""Training pairs for an embedder: a query, the passage that answers it, and a hard negative.

Sources: judged queries (BEIR qrels or a QA JSONL with gold documents), feedback (a liked answer's question and
the passages it cited), and synthetic questions (:mod:`quarry.tuning.synthetic`). Hard negatives are mined from
the same collection, by its dense path or BM25: a high-ranked passage of *another* document.
:func:`split_by_document` keeps every pair of one document on the same side, so validation never sees a passage
training saw.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from quarry.evaluation.datasets import RetrievalDataset

__all__ = [
    "EvalQueries",
    "TrainingPair",
    "data_hash",
    "judged_pairs",
    "split_by_document",
    "with_hard_negatives",
]

Rank = Callable[[str, int], list[tuple[str, str]]]
"""BM25 over the collection: (query, k) → [(document id, passage text)], best first."""


@dataclass(frozen=True, slots=True)
class EvalQueries:
    name: str
    queries: Mapping[str, str]  # id → text
    qrels: Mapping[str, Mapping[str, int]]  # id → document key → grade


@dataclass(frozen=True, slots=True)
class TrainingPair:
    query: str
    positive: str
    document: str  # the positive passage's document id: the unit of the train/validation split
    negative: str = ""
    source: str = "judged"  # judged | feedback | synthetic


def passage_text(title: str, text: str) -> str:
    return f"{title}\n{text}".strip() if title else text.strip()


def judged_pairs(dataset: RetrievalDataset) -> list[TrainingPair]:
    """One pair per (query, relevant document) of a BEIR split; documents missing from the corpus are skipped."""
    pairs: list[TrainingPair] = []
    for qid, query in dataset.queries.items():
        for doc_id, grade in sorted(dataset.qrels.get(qid, {}).items()):
            doc = dataset.corpus.get(doc_id)
            if grade > 0 and doc is not None:
                pairs.append(TrainingPair(query, passage_text(doc.title, doc.text), doc_id))
    return pairs


def with_hard_negatives(
    pairs: Sequence[TrainingPair], rank: Rank, *, depth: int = 10, skip: int = 0, seed: int = 0
) -> list[TrainingPair]:
    """Each pair gains a hard negative: one of the three best passages ``rank`` (BM25 or a dense ranker) finds for
    its query in its top ``depth`` that belong to another document and are not a positive of the same query —
    after the first ``skip`` of them, which are the likeliest unjudged positives (picked at random, seeded)."""
    rng = random.Random(seed)
    positives: dict[str, set[str]] = {}
    for pair in pairs:
        positives.setdefault(pair.query, set()).add(pair.document)
    out: list[TrainingPair] = []
    cache: dict[str, list[tuple[str, str]]] = {}
    for pair in pairs:
        ranked = cache.get(pair.query)
        if ranked is None:
            ranked = cache[pair.query] = rank(pair.query, depth)
        candidates = [text for doc, text in ranked if doc not in positives[pair.query]][skip:]
        negative = rng.choice(candidates[:3]) if candidates else ""
        out.append(TrainingPair(pair.query, pair.positive, pair.document, negative, pair.source))
    return out


def split_by_document(
    pairs: Sequence[TrainingPair], validation: float = 0.1, *, seed: int = 0
) -> tuple[list[TrainingPair], list[TrainingPair]]:
    """(train, validation): whole documents go to one side, chosen by a seeded hash of their id. A query with
    documents on both sides stays in training only: validation never asks a question training saw."""

    def side(document: str) -> float:
        digest = hashlib.sha256(f"{seed}:{document}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    train = [p for p in pairs if side(p.document) >= validation]
    trained = {p.query for p in train}
    held = [p for p in pairs if side(p.document) < validation and p.query not in trained]
    return train, held


def data_hash(records: Iterable[Any]) -> str:
    """A short content hash of training data (pairs or chat examples: dataclasses), recorded in the lineage."""
    digest = hashlib.sha256()
    for record in records:
        digest.update(json.dumps(asdict(record), sort_keys=True).encode())
    return digest.hexdigest()[:16]
