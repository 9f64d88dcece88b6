"""The two search paths. Both run inside the caller's read transaction and filter in SQL."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence

import numpy as np

from quarry.stores.checks import query_vector
from quarry.stores.filters import Filter
from quarry.stores.sqlite import sparse
from quarry.stores.sqlite.ann import AnnIndexes
from quarry.stores.sqlite.filters_sql import compile_filter
from quarry.stores.sqlite.groups import best_per_document
from quarry.stores.sqlite.rows import CHUNK_COLUMNS, to_hit
from quarry.stores.sqlite.sparse import LoadedSparse
from quarry.stores.sqlite.vectors import LoadedVectors, RowIds, allowed_rows, top_k
from quarry.types import Hit, Matrix

__all__ = ["best_text", "best_vector", "hydrate", "text", "vector"]


def text(
    conn: sqlite3.Connection,
    collection: str,
    loaded: LoadedSparse,
    query: str,
    k: int,
    where: Filter | None,
    cache: AllowedCache,
) -> list[tuple[int, float]]:
    """BM25 over the collection's chunks: ``(chunk rowid, score)``, best first; see :mod:`.sparse`."""
    if k <= 0:
        return []
    return sparse.top_k(loaded, query, k, allowed_documents(conn, collection, where, cache))


def vector(
    conn: sqlite3.Connection,
    collection: str,
    loaded: LoadedVectors,
    query: Matrix,
    k: int,
    where: Filter | None,
    cache: AllowedCache,
    ann: AnnIndexes | None = None,
) -> list[tuple[int, float]]:
    """Cosine over ``loaded`` (the collection's vectors in this snapshot): HNSW when the collection
    is above the ANN threshold and the filter allows more rows than that, exact otherwise."""
    q = query_vector(query, loaded.dimension)
    keep = allowed_rows(loaded, allowed_documents(conn, collection, where, cache))
    if ann is not None and ann.params.wanted(len(loaded.rowids)):
        allowed = len(loaded.rowids) if keep is None else int(np.count_nonzero(keep))
        if allowed > max(ann.params.threshold, k):  # fewer rows: exact over just them is fast and exact
            found = ann.search(collection, loaded, q, k, keep)
            if found is not None:
                return found
    return top_k(loaded, q, k, keep)


def allowed_documents(
    conn: sqlite3.Connection, collection: str, where: Filter | None, cache: AllowedCache
) -> RowIds | None:
    """Row ids of the documents ``where`` allows (``None``: all); their chunks are masked in, in numpy.

    Cached per (collection, generation, filter): a permission filter is the same for every query of
    a caller, and rescanning every document's metadata JSON cost ~20 ms per query on SciFact. A filter
    that allows every document is remembered as ``None``: the search paths then mask nothing (masking
    12.5k chunks against the allowed set cost ~9% of a hybrid search's CPU under load).
    """
    if where is None:
        return None
    generation = conn.execute("SELECT id, generation FROM collections WHERE name = ?", (collection,)).fetchone()
    key = (collection, tuple(generation) if generation else None, repr(where))  # repr: 1 and True differ
    with _ALLOWED_LOCK:
        if key in cache:
            return cache[key]
    condition, params = compile_filter(where)
    rows = conn.execute(
        f"SELECT d.rowid FROM documents d WHERE d.collection = ? AND {condition}", (collection, *params)
    ).fetchall()
    (every,) = conn.execute("SELECT count(*) FROM documents WHERE collection = ?", (collection,)).fetchone()
    allowed = None if len(rows) == every else np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    with _ALLOWED_LOCK:
        if len(cache) >= _ALLOWED_SIZE:
            cache.pop(next(iter(cache)))
        cache[key] = allowed
    return allowed


AllowedCache = dict[tuple[object, ...], RowIds | None]
_ALLOWED_LOCK = threading.Lock()
_ALLOWED_SIZE = 256


def hydrate(conn: sqlite3.Connection, scored: Sequence[tuple[int, float]], retriever: str) -> dict[int, Hit]:
    """Hits for scored chunk rowids, by rowid (rows deleted meanwhile are absent)."""
    if not scored:
        return {}
    marks = ", ".join("?" * len(scored))
    rows = conn.execute(
        f"SELECT {CHUNK_COLUMNS} FROM chunks c JOIN documents d ON d.rowid = c.document WHERE c.rowid IN ({marks})",
        [rowid for rowid, _ in scored],
    ).fetchall()
    by_rowid = {row["chunk_rowid"]: row for row in rows}
    return {rowid: to_hit(by_rowid[rowid], score, retriever) for rowid, score in scored if rowid in by_rowid}


def best_text(
    loaded: LoadedSparse, query: str, keys: RowIds, allowed: RowIds | None = None
) -> dict[int, tuple[int, float]]:
    """For each document holding a chunk in ``keys``: ``document → (best chunk rowid, BM25 score)``
    over all of its chunks (0 when none matches a query word), scored as :func:`text` scores for the
    same filter (``allowed``: its documents)."""
    scores = sparse.chunk_scores(loaded, query, allowed)
    return best_per_document(loaded.groups, loaded.rowids, loaded.documents, keys, lambda rows: scores[rows])


def best_vector(loaded: LoadedVectors, query: Matrix, keys: RowIds) -> dict[int, tuple[int, float]]:
    """For each document holding a chunk in ``keys``: ``document → (best chunk rowid, cosine)``."""
    q = query_vector(query, loaded.dimension)
    return best_per_document(
        loaded.groups, loaded.rowids, loaded.documents, keys, lambda rows: np.einsum("ij,j->i", loaded.matrix[rows], q)
    )
