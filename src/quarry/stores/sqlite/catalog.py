"""The ``collections`` table: names, creation, existence checks and the info query."""

from __future__ import annotations

import sqlite3
import time

from quarry.errors import CollectionNotFound
from quarry.stores.checks import StaleSwap, check_name

__all__ = [
    "COLLECTION_INFO",
    "check_name",
    "embedder_of",
    "insert_collection",
    "require",
    "require_generation",
    "swap_names",
]

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


def swap_names(conn: sqlite3.Connection, live: str, shadow: str, expected_generation: int | None) -> None:
    """Exchange two collections' names, with their documents and sources, inside the caller's write
    transaction; both generations move above either's, so nothing keyed on (name, generation) survives."""
    live_id, live_generation = require_generation(conn, live)
    _, shadow_generation = require_generation(conn, shadow)
    if expected_generation is not None and live_generation != expected_generation:
        raise StaleSwap(live, expected_generation, live_generation)
    conn.execute("PRAGMA defer_foreign_keys = ON")  # names are briefly dangling inside this transaction
    parked = f"{live}~swap-{live_id}"
    for old, new in ((live, parked), (shadow, live), (parked, shadow)):
        conn.execute("UPDATE collections SET name = ? WHERE name = ?", (new, old))
        conn.execute("UPDATE documents SET collection = ? WHERE collection = ?", (new, old))
        conn.execute("UPDATE sources SET collection = ? WHERE collection = ?", (new, old))
    top = max(live_generation, shadow_generation) + 1
    conn.execute("UPDATE collections SET generation = ? WHERE name IN (?, ?)", (top, live, shadow))
