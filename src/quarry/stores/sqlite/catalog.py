"""The ``collections`` table: names, creation, existence checks and the info query."""

from __future__ import annotations

import sqlite3
import time

from quarry.errors import CollectionNotFound
from quarry.stores.checks import check_name

__all__ = ["COLLECTION_INFO", "check_name", "embedder_of", "insert_collection", "require", "require_generation"]

COLLECTION_INFO = """
SELECT c.name, c.description, c.embedder, c.created_at, c.generation,
    (SELECT count(*) FROM documents d WHERE d.collection = c.name) AS documents,
    (SELECT count(*) FROM documents d JOIN chunks ch ON ch.document = d.rowid WHERE d.collection = c.name) AS chunks
FROM collections c
"""


def embedder_of(conn: sqlite3.Connection, name: str) -> str | None:
    """The embedder a collection was built with; None when there is no such collection."""
    row = conn.execute("SELECT embedder FROM collections WHERE name = ?", (name,)).fetchone()
    return None if row is None else str(row["embedder"])


def insert_collection(conn: sqlite3.Connection, name: str, description: str, embedder: str) -> None:
    """Create ``name`` unless a concurrent writer already did (call inside a write transaction)."""
    inserted = conn.execute(
        "INSERT OR IGNORE INTO collections (name, description, embedder, created_at) VALUES (?, ?, ?, ?)",
        (name, description, embedder, time.time()),
    ).rowcount
    if inserted:  # start above any generation a deleted namesake reached (ids are never reused)
        conn.execute("UPDATE collections SET generation = id << 32 WHERE name = ?", (name,))


def require(conn: sqlite3.Connection, collection: str) -> None:
    if conn.execute("SELECT 1 FROM collections WHERE name = ?", (collection,)).fetchone() is None:
        raise CollectionNotFound(collection)


def require_generation(conn: sqlite3.Connection, collection: str) -> tuple[int, int]:
    """``(collection id, generation)``; raises CollectionNotFound."""
    row = conn.execute("SELECT id, generation FROM collections WHERE name = ?", (collection,)).fetchone()
    if row is None:
        raise CollectionNotFound(collection)
    return int(row["id"]), int(row["generation"])
