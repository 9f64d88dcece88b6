"""SciFact loaded once, and a tiny pure-Python BM25 to make real rankings of it."""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from quarry.evaluation import RetrievalDataset, load_beir

_TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


class BM25:
    """Okapi BM25 (k1 = 0.9, b = 0.4, Lucene's idf) over title + text; no stemming."""

    def __init__(self, docs: dict[str, str], k1: float = 0.9, b: float = 0.4) -> None:
        self.postings: dict[str, list[tuple[str, int]]] = defaultdict(list)
        lengths: dict[str, int] = {}
        for doc_id, text in docs.items():
            tokens = tokenize(text)
            lengths[doc_id] = len(tokens)
            for term, tf in Counter(tokens).items():
                self.postings[term].append((doc_id, tf))
        self.norm = {doc: k1 * (1 - b + b * n / (sum(lengths.values()) / len(lengths))) for doc, n in lengths.items()}
        self.k1 = k1
        self.idf = {t: math.log(1 + (len(docs) - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}

    def search(self, query: str, k: int = 100) -> list[str]:
        scores: dict[str, float] = defaultdict(float)
        for term in tokenize(query):
            idf = self.idf.get(term, 0.0)
            for doc_id, tf in self.postings.get(term, ()):
                scores[doc_id] += idf * tf * (self.k1 + 1) / (tf + self.norm[doc_id])
        return heapq.nsmallest(k, scores, key=lambda doc: (-scores[doc], doc))


@pytest.fixture(scope="session")
def scifact_dir(datasets: Path) -> Path:
    """The BEIR SciFact folder from the shared datasets (the root conftest's ``datasets``)."""
    return datasets / "scifact"


@pytest.fixture(scope="session")
def scifact(scifact_dir: Path) -> RetrievalDataset:
    return load_beir(scifact_dir, "test")


@pytest.fixture(scope="session")
def bm25(scifact: RetrievalDataset) -> BM25:
    return BM25({doc_id: f"{doc.title} {doc.text}" for doc_id, doc in scifact.corpus.items()})


@pytest.fixture(scope="session")
def bm25_run(scifact: RetrievalDataset, bm25: BM25) -> dict[str, list[str]]:
    return {qid: bm25.search(query) for qid, query in scifact.queries.items()}
