"""The two search paths. Both run inside the caller's read transaction and filter in SQL."""

from __future__ import annotations

import sqlite3

import numpy as np

from quarry.errors import StoreError
from quarry.stores.filters import Filter
from quarry.stores.sqlite.filters_sql import compile_filter
from quarry.stores.sqlite.fts import match_query
from quarry.stores.sqlite.rows import CHUNK_COLUMNS, to_hit
from quarry.stores.sqlite.vectors import LoadedVectors, top_k
from quarry.types import Hit, Matrix

__all__ = ["BM25_WEIGHTS", "text", "vector"]

# bm25() column weights: chunk text, heading path, document title.
BM25_WEIGHTS = (1.0, 0.5, 0.5)
_BM25 = f"bm25(chunks_fts, {', '.join(str(w) for w in BM25_WEIGHTS)})"


def text(conn: sqlite3.Connection, collection: str, query: str, k: int, where: Filter | None) -> list[Hit]:
    """BM25 over the OR of the query's words (higher score is better)."""
    match = match_query(query)
    if match is None or k <= 0:
        return []
    condition, params = compile_filter(where)
    rows = conn.execute(
        f"SELECT {CHUNK_COLUMNS}, {_BM25} AS rank "
        "FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid JOIN documents d ON d.rowid = c.document "
        f"WHERE chunks_fts MATCH ? AND d.collection = ? AND d.duplicate_of IS NULL AND {condition} "
        "ORDER BY rank, c.rowid LIMIT ?",
        (match, collection, *params, k),
    ).fetchall()
    return [to_hit(row, -row["rank"], "bm25") for row in rows]


def vector(
    conn: sqlite3.Connection, collection: str, loaded: LoadedVectors, query: Matrix, k: int, where: Filter | None
) -> list[Hit]:
    """Exact cosine over ``loaded`` (the collection's vectors in this snapshot)."""
    q = _query_vector(query, loaded.dimension)
    documents = None
    if where is not None:  # allowed documents by SQL; their chunks are masked in, in numpy
        condition, params = compile_filter(where)
        rows = conn.execute(
            f"SELECT d.rowid FROM documents d WHERE d.collection = ? AND {condition}", (collection, *params)
        ).fetchall()
        documents = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    return _hydrate(conn, top_k(loaded, q, k, documents))


def _query_vector(query: Matrix, dimension: int) -> Matrix:
    q = np.asarray(query, dtype=np.float32)
    if q.ndim == 2 and q.shape[0] == 1:
        q = q[0]
    if q.shape != (dimension,):
        raise StoreError(
            f"query vector of shape {q.shape}, the collection holds dimension {dimension}",
            operation="search_vector",
            hint="embed the query with the collection's embedder",
        )
    norm = float(np.linalg.norm(q))
    normalised: Matrix = q / norm if norm > 0 else q
    return normalised


def _hydrate(conn: sqlite3.Connection, scored: list[tuple[int, float]]) -> list[Hit]:
    if not scored:
        return []
    marks = ", ".join("?" * len(scored))
    rows = conn.execute(
        f"SELECT {CHUNK_COLUMNS} FROM chunks c JOIN documents d ON d.rowid = c.document WHERE c.rowid IN ({marks})",
        [rowid for rowid, _ in scored],
    ).fetchall()
    by_rowid = {row["chunk_rowid"]: row for row in rows}
    return [to_hit(by_rowid[rowid], score, "dense") for rowid, score in scored if rowid in by_rowid]
