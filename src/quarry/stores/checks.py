"""Checks every store adapter applies to a write before it touches the database."""

from __future__ import annotations

import re

import numpy as np

from quarry.errors import StoreError
from quarry.stores.base import DocumentWrite
from quarry.types import Matrix

__all__ = ["StaleSwap", "check_name", "checked_vectors", "is_internal", "query_vector"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}(~(shadow|kept)-[0-9]+)?$")  # ~…: an embedder swap's own


def checked_vectors(item: DocumentWrite, dimension: int | None) -> Matrix:
    """The write's vectors as float32, one finite row per chunk of the collection's dimension; StoreError
    otherwise (a duplicate document must come without chunks)."""
    uri = item.document.uri
    if item.duplicate_of is not None and item.chunks:
        raise StoreError(f"{uri}: a duplicate document is stored without chunks", operation="write")
    if not item.chunks:
        return np.zeros((0, dimension or 0), dtype=np.float32)
    vectors = np.asarray(item.vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(item.chunks):
        raise StoreError(
            f"{uri}: {len(item.chunks)} chunks but vectors of shape {vectors.shape}",
            operation="write",
            hint="pass one vector per chunk, shape (chunks, dimension)",
        )
    if dimension is not None and vectors.shape[1] != dimension:
        raise StoreError(
            f"{uri}: vectors of dimension {vectors.shape[1]}, the collection holds dimension {dimension}",
            operation="write",
            hint="use a new collection for another embedder, or delete this one",
        )
    if not np.isfinite(vectors).all():
        raise StoreError(f"{uri}: vectors contain NaN or infinity", operation="write")
    return vectors


class StaleSwap(StoreError):
    """The live collection changed after its shadow last caught up: catch up again, then swap."""

    def __init__(self, collection: str, expected: int, found: int) -> None:
        super().__init__(
            f"collection {collection!r} changed during the swap (generation {found}, expected {expected})",
            operation="swap_collections",
            hint="copy the changes into the shadow collection and swap again",
        )
        self.collection, self.expected, self.found = collection, expected, found


def is_internal(name: str) -> bool:
    """A shadow or kept collection of an embedder swap (hidden from collection lists)."""
    return "~" in name


def check_name(name: str) -> None:
    if not _NAME.match(name):
        raise StoreError(
            f"invalid collection name {name!r}",
            operation="ensure_collection",
            hint="use 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
        )


def query_vector(query: Matrix, dimension: int) -> Matrix:
    """A query vector as float32 of shape ``(dimension,)``, L2-normalised; StoreError for another shape."""
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
