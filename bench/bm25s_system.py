"""bm25s on its own, as its README shows it: one passage per SciFact document (title + abstract),
English stopwords, PyStemmer English stemming, bm25s's default Lucene BM25 (k1 1.5, b 0.75).

This is the issue's 0.687 nDCG@10 baseline. The index time covers reading corpus.jsonl.gz,
tokenising and indexing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import Stemmer

from measure import Built, Config, Search, Stopwatch, read_corpus

NAME = "bm25s (doc-level, stopwords + stemming)"


def build_bm25s(corpus: Path) -> Built:
    stemmer = Stemmer.Stemmer("english")
    with Stopwatch() as watch:
        docs = read_corpus(corpus)
        tokens = bm25s.tokenize(
            [f"{d.title} {d.text}" for d in docs], stopwords="en", stemmer=stemmer, show_progress=False
        )
        retriever = bm25s.BM25()
        retriever.index(tokens, show_progress=False)
    ids = [d.doc_id for d in docs]
    return Built([Config(NAME, _search(retriever, stemmer, ids))], watch.seconds, reused=False)


def _search(retriever: Any, stemmer: Any, ids: list[str]) -> Search:
    def search(query: str, k: int) -> list[str]:
        tokens = bm25s.tokenize(query, stopwords="en", stemmer=stemmer, show_progress=False)
        found, scores = retriever.retrieve(tokens, k=k, show_progress=False)
        # bm25s pads with score-0 documents when fewer than k match: those were not retrieved
        return [ids[i] for i, s in zip(found[0], scores[0], strict=True) if s > 0 and not np.isnan(s)]

    return search
