"""The in-memory vector index: one float32 matrix per collection, exact cosine with numpy.

The matrix is loaded lazily from the chunk BLOBs and keyed by ``(collection id, generation)``:
every write to a collection bumps its generation in the ``collections`` table, so a write from
this process *or another one* is noticed by one cheap query before each search. Vectors are
L2-normalised, so cosine similarity is a dot product.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from quarry.errors import StoreError
from quarry.stores.sqlite.groups import DocumentGroups
from quarry.types import Matrix

__all__ = ["LoadedVectors", "Mask", "RowIds", "VectorIndex", "allowed_rows", "rows_of", "to_blob", "top_k"]

RowIds = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class LoadedVectors:
    """One collection's vectors: row ``i`` of ``matrix`` belongs to chunk ``rowids[i]`` (ascending)
    of document ``documents[i]``."""

    key: tuple[int, int]
    rowids: RowIds
    documents: RowIds
    matrix: Matrix
    groups: DocumentGroups = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", DocumentGroups.of(self.documents))

    @property
    def dimension(self) -> int:
        return int(self.matrix.shape[1])


def rows_of(loaded: LoadedVectors, rowids: RowIds) -> Matrix:
    """The vectors of chunk ``rowids`` (row ``i`` for ``rowids[i]``); zeros for a rowid not loaded."""
    at = np.searchsorted(loaded.rowids, rowids)
    at = np.minimum(at, max(len(loaded.rowids) - 1, 0))
    present = loaded.rowids[at] == rowids if len(loaded.rowids) else np.zeros(len(rowids), dtype=bool)
    out = np.zeros((len(rowids), loaded.dimension), dtype=np.float32)
    out[present] = loaded.matrix[at[present]]
    return out


def to_blob(vector: Matrix) -> bytes:
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


class VectorIndex:
    """Per-collection matrices shared by every thread of one store (guarded by a lock)."""

    def __init__(self) -> None:
        self._cache: dict[str, LoadedVectors] = {}
        self._lock = threading.Lock()

    def get(self, conn: sqlite3.Connection, collection: str, key: tuple[int, int], dimension: int) -> LoadedVectors:
        """The collection's vectors for ``key``, loading them (in the caller's snapshot) if stale."""
        with self._lock:
            cached = self._cache.get(collection)
        if cached is not None and cached.key == key:
            return cached
        loaded = _load(conn, collection, key, dimension)
        with self._lock:
            self._cache[collection] = loaded
        return loaded

    def forget(self, collection: str) -> None:
        with self._lock:
            self._cache.pop(collection, None)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


def _load(conn: sqlite3.Connection, collection: str, key: tuple[int, int], dimension: int) -> LoadedVectors:
    rows = conn.execute(
        "SELECT c.rowid, c.document, c.vector FROM documents d JOIN chunks c ON c.document = d.rowid "
        "WHERE d.collection = ? ORDER BY c.rowid",
        (collection,),
    ).fetchall()
    rowids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    documents = np.fromiter((row[1] for row in rows), dtype=np.int64, count=len(rows))
    data = b"".join(row[2] for row in rows)
    if len(data) != len(rows) * dimension * 4:
        raise StoreError(
            f"stored vectors of collection {collection!r} do not match its dimension {dimension}",
            operation="search_vector",
            hint="re-ingest the collection into a new one",
        )
    matrix = np.frombuffer(data, dtype="<f4").reshape(len(rows), dimension).astype(np.float32, copy=False)
    return LoadedVectors(key=key, rowids=rowids, documents=documents, matrix=matrix)


def top_k(loaded: LoadedVectors, query: Matrix, k: int, keep: Mask | None = None) -> list[tuple[int, float]]:
    """The best ``k`` ``(chunk rowid, score)`` pairs, best first; only rows where ``keep`` if given."""
    # einsum runs numpy's own single-threaded SIMD loop: as fast as BLAS gemv here, and it does not
    # stall (8 ms+) waiting for OpenBLAS worker threads when the other cores are busy.
    rowids = loaded.rowids
    if keep is None:
        scores: Matrix = np.einsum("ij,j->i", loaded.matrix, query)
    else:  # the filter; a selective one scores only its rows (copying them is cheaper than scoring all)
        at = np.flatnonzero(keep)
        selective = 2 * len(at) < len(rowids)
        scores = (
            np.einsum("ij,j->i", loaded.matrix[at], query)
            if selective
            else np.einsum("ij,j->i", loaded.matrix, query)[at]
        )
        rowids = rowids[at]
    k = min(k, len(scores))
    if k <= 0:
        return []
    best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    order = best[np.lexsort((rowids[best], -scores[best]))]
    return [(int(rowids[i]), float(scores[i])) for i in order]


def allowed_rows(loaded: LoadedVectors, documents: RowIds | None) -> Mask | None:
    """The rows of chunks of ``documents`` (``None``: every row)."""
    return None if documents is None else np.isin(loaded.documents, documents)
