"""The in-memory BM25 index: one bm25s index per collection, rebuilt when the collection changes.

FTS5's ``bm25()`` ranks as well (nDCG@10 0.692 vs 0.688 on SciFact train) but has to score every
row matching any query word: 54 ms p50 / 203 ms p99 per SciFact claim. bm25s scores a sparse
matrix in ~0.3 ms. Like the vectors, the index is keyed by ``(collection id, generation)`` and
rebuilt lazily after a write (~2 s per 12,500 chunks); filters mask rows exactly as the dense path
does. Case- and accent-folded text, English stopwords removed, Snowball stemming, Lucene BM25.

k1 and b default to 0.9 and 0.4 (Anserini's defaults, ``[store] bm25_k1 / bm25_b``). On SciFact
train they sit on a plateau (k1 0.6–0.9, b 0.3–0.5) of the hybrid's nDCG@10: 0.745 against 0.741
with bm25s's defaults 1.5 / 0.75 (document fusion; 0.738 vs 0.733 with chunk fusion), while BM25
alone hardly moves (0.698 → 0.700): lower k1
saturates repeated words sooner, which makes BM25's scores fuse better with cosine
(bench/levers.py).

Scoring is parent-document aware: a chunk scores ``BM25(its whole document) + 0.25 · BM25(its own
title + heading context + text)``. Chunking splits evidence that BM25 scores best together:
chunk-only BM25 gives 0.683 nDCG@10 on SciFact train, document BM25 0.696, the sum with weight
0.25 (chosen on train among 0, 0.25, 0.5, 1) 0.698; on test this reproduces the document-level
bm25s baseline (0.686 vs 0.687).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import Stemmer

from quarry.stores.sqlite.groups import DocumentGroups
from quarry.stores.sqlite.vectors import RowIds
from quarry.stores.sqlite.visible_bm25 import TermCounts
from quarry.types import Chunk

__all__ = ["BM25_B", "BM25_K1", "LoadedSparse", "SparseIndex", "chunk_scores", "top_k"]

BM25_K1 = 0.9
BM25_B = 0.4
CHUNK_WEIGHT = 0.25
_STEMMER = Stemmer.Stemmer("english")


class RecentScores:
    """The chunk scores of the last few queries: a hybrid search scores its query twice (ranking,
    then the per-document completion), and the second time costs ~1 ms on SciFact without this."""

    def __init__(self, size: int = 8) -> None:
        self._scores: OrderedDict[str, npt.NDArray[np.float64]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, query: str, compute: Callable[[], npt.NDArray[np.float64]]) -> npt.NDArray[np.float64]:
        with self._lock:
            found = self._scores.get(query)
            if found is not None:
                self._scores.move_to_end(query)
                return found
        scores = compute()
        scores.flags.writeable = False
        with self._lock:
            self._scores[query] = scores
            if len(self._scores) > self._size:
                self._scores.popitem(last=False)
        return scores


@dataclass(frozen=True, slots=True)
class LoadedSparse:
    key: tuple[int, int]
    rowids: RowIds
    documents: RowIds
    parents: RowIds  # row i's document as a position in ``document_index``
    chunk_index: Any  # bm25s.BM25 (untyped library)
    document_index: Any
    chunk_counts: TermCounts  # for restricted searches: statistics over what the caller may see
    document_counts: TermCounts
    document_rows: RowIds  # the document rowid at each position of ``document_index``
    k1: float = BM25_K1
    b: float = BM25_B
    recent: RecentScores = field(default_factory=RecentScores, compare=False, repr=False)
    groups: DocumentGroups = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", DocumentGroups.of(self.documents))


class SparseIndex:
    """Per-collection BM25 indexes shared by every thread of one store (guarded by a lock)."""

    def __init__(self, k1: float = BM25_K1, b: float = BM25_B) -> None:
        self.k1, self.b = k1, b
        self._cache: dict[str, LoadedSparse] = {}
        self._lock = threading.Lock()

    def get(self, conn: sqlite3.Connection, collection: str, key: tuple[int, int]) -> LoadedSparse:
        with self._lock:
            cached = self._cache.get(collection)
        if cached is not None and cached.key == key:
            return cached
        loaded = _load(conn, collection, key, self.k1, self.b)
        with self._lock:
            self._cache[collection] = loaded
        return loaded

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


def fold(text: str) -> str:
    """Case and accent folding (``Café`` → ``cafe``), applied to documents and queries alike."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def tokenize(texts: list[str]) -> Any:
    import bm25s  # imported when a collection's index is built: with numba installed it costs ~1.6 s at start-up

    return bm25s.tokenize([fold(t) for t in texts], stopwords="en", stemmer=_STEMMER, show_progress=False)


def _chunk_text(text: str, heading_path: str, title: str) -> str:
    context = Chunk("", 0, text, 0, 0, tuple(json.loads(heading_path))).context
    return context if not title or title in context[: len(title) + 8] else f"{title}\n{context}"


def _load(conn: sqlite3.Connection, collection: str, key: tuple[int, int], k1: float, b: float) -> LoadedSparse:
    rows = conn.execute(
        "SELECT c.rowid, c.document, c.text, c.heading_path, d.title FROM documents d "
        "JOIN chunks c ON c.document = d.rowid WHERE d.collection = ? ORDER BY c.rowid",
        (collection,),
    ).fetchall()
    rowids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    documents = np.fromiter((row[1] for row in rows), dtype=np.int64, count=len(rows))
    doc_rows, parents = np.unique(documents, return_inverse=True)
    doc_texts = _document_texts(conn, [int(d) for d in doc_rows])
    chunk_texts = [_chunk_text(row[2], row[3], row[4]) for row in rows]
    (chunk_index, chunk_counts), (document_index, document_counts) = (
        _index(chunk_texts, k1, b),
        _index(doc_texts, k1, b),
    )
    return LoadedSparse(
        key, rowids, documents, parents.astype(np.int64), chunk_index, document_index,
        chunk_counts, document_counts, doc_rows.astype(np.int64), k1, b,
    )  # fmt: skip


def _document_texts(conn: sqlite3.Connection, rowids: list[int]) -> list[str]:
    texts: dict[int, str] = {}
    for start in range(0, len(rowids), 500):
        part = rowids[start : start + 500]
        marks = ", ".join("?" * len(part))
        for rowid, title, text in conn.execute(
            f"SELECT rowid, title, text FROM documents WHERE rowid IN ({marks})", part
        ):
            texts[rowid] = text if not title or title in text[: len(title) + 8] else f"{title}\n{text}"
    return [texts[r] for r in rowids]


def _index(texts: list[str], k1: float, b: float) -> tuple[Any, TermCounts]:
    import bm25s

    index = bm25s.BM25(k1=k1, b=b)
    tokens = tokenize(texts)
    if texts:
        index.index(tokens, show_progress=False)
    return index, TermCounts.of(tokens)


def top_k(loaded: LoadedSparse, query: str, k: int, documents: RowIds | None = None) -> list[tuple[int, float]]:
    """The best ``k`` ``(chunk rowid, score)`` pairs among chunks matching a query word, best first."""
    if len(loaded.rowids) == 0:
        return []
    scores = chunk_scores(loaded, query, documents)
    rowids = loaded.rowids
    if documents is not None:
        keep = np.flatnonzero(np.isin(loaded.documents, documents))
        scores, rowids = scores[keep], rowids[keep]
    positive = np.flatnonzero(scores > 0)
    k = min(k, len(positive))
    if k <= 0:
        return []
    best = positive[np.argpartition(-scores[positive], k - 1)[:k]] if k < len(positive) else positive
    order = best[np.lexsort((rowids[best], -scores[best]))]
    return [(int(rowids[i]), float(scores[i])) for i in order]


def chunk_scores(loaded: LoadedSparse, query: str, allowed: RowIds | None = None) -> npt.NDArray[np.float64]:
    """Every chunk's score for ``query`` (row ``i`` for ``loaded.rowids[i]``); 0 where no query word matches.

    With ``allowed`` (document rowids a restricted search may see), IDF and lengths come from those documents
    only, so nothing the caller cannot see moves its scores (see :mod:`.visible_bm25`)."""
    if len(loaded.rowids) == 0:
        return np.zeros(0, dtype=np.float64)
    visible = None if allowed is None else np.isin(loaded.document_rows, allowed)
    if visible is None or visible.all():  # the caller sees every document: the collection's own statistics
        return loaded.recent.get(query, lambda: _chunk_scores(loaded, query))
    key = query + "\x00" + hashlib.blake2b(np.packbits(visible).tobytes(), digest_size=16).hexdigest()
    return loaded.recent.get(key, lambda: _restricted_scores(loaded, query, visible))


def _query_terms(query: str) -> list[str]:
    import bm25s

    tokens = bm25s.tokenize([fold(query)], stopwords="en", stemmer=_STEMMER, show_progress=False, return_ids=False)
    return list(tokens[0])


def _chunk_scores(loaded: LoadedSparse, query: str) -> npt.NDArray[np.float64]:
    terms = _query_terms(query)
    own = _scores(loaded.chunk_index, terms, len(loaded.rowids))
    documents = _scores(loaded.document_index, terms, int(loaded.parents.max()) + 1)
    # a chunk must match the query itself; its document's score then ranks it among the matches
    return np.where(own > 0, documents[loaded.parents] + CHUNK_WEIGHT * own, 0.0)


def _restricted_scores(
    loaded: LoadedSparse, query: str, visible_documents: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    terms = _query_terms(query)
    own = loaded.chunk_counts.scores(terms, visible_documents[loaded.parents], loaded.k1, loaded.b)
    documents = loaded.document_counts.scores(terms, visible_documents, loaded.k1, loaded.b)
    return np.where(own > 0, documents[loaded.parents] + CHUNK_WEIGHT * own, 0.0)


def _scores(index: Any, tokens: list[str], size: int) -> npt.NDArray[np.float64]:
    terms = [t for t in tokens if t in index.vocab_dict]
    if not terms:
        return np.zeros(size, dtype=np.float64)
    return np.asarray(index.get_scores(terms), dtype=np.float64)
