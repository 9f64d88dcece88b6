"""The body of :meth:`SQLiteStore.write`; every function runs inside the caller's transaction.

FTS rows follow chunk rows, and chunk rows follow documents, through triggers (see :mod:`.schema`):
deleting a document or inserting a chunk here updates the full-text index in the same transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from quarry.errors import CollectionNotFound
from quarry.stores.base import DocumentWrite, SourceState
from quarry.stores.checks import checked_vectors
from quarry.stores.sqlite.rows import dump_json, pages_json
from quarry.stores.sqlite.vectors import to_blob
from quarry.types import Chunk, Matrix

__all__ = ["apply_write", "delete_collection_rows"]

_UPSERT_DOCUMENT = """
INSERT INTO documents
    (id, collection, uri, source_uri, title, text, text_hash, pages, metadata, duplicate_of, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (collection, uri) DO UPDATE SET
    id = excluded.id, source_uri = excluded.source_uri, title = excluded.title, text = excluded.text,
    text_hash = excluded.text_hash, pages = excluded.pages, metadata = excluded.metadata,
    duplicate_of = excluded.duplicate_of, updated_at = excluded.updated_at
RETURNING rowid
"""

_INSERT_CHUNK = """
INSERT INTO chunks (document, idx, text, start, "end", heading_path, page, token_count, content_hash, vector, flags)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

_UPSERT_STATE = """
INSERT INTO sources (collection, uri, raw_hash, status, error, documents, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (collection, uri) DO UPDATE SET
    raw_hash = excluded.raw_hash, status = excluded.status, error = excluded.error,
    documents = excluded.documents, updated_at = excluded.updated_at
"""


def apply_write(
    conn: sqlite3.Connection,
    collection: str,
    *,
    upserts: Sequence[DocumentWrite],
    delete_uris: Sequence[str],
    delete_sources: Sequence[str],
    states: Sequence[SourceState],
    now: float,
) -> None:
    """Deletions first, then upserts, then states (so a source deleted and re-added survives).

    The collection's generation is bumped only if a document or chunk row changed: a states-only
    write or the deletion of unknown uris leaves searches, and every cache keyed on it, valid.
    """
    row = conn.execute("SELECT dimension FROM collections WHERE name = ?", (collection,)).fetchone()
    if row is None:
        raise CollectionNotFound(collection)
    dimension: int | None = row["dimension"]
    before = conn.total_changes
    for source_uri in delete_sources:
        conn.execute("DELETE FROM documents WHERE collection = ? AND source_uri = ?", (collection, source_uri))
    conn.executemany("DELETE FROM documents WHERE collection = ? AND uri = ?", [(collection, u) for u in delete_uris])
    for item in upserts:
        dimension = _upsert(conn, collection, item, dimension, now)
    if conn.total_changes != before:
        conn.execute("UPDATE collections SET generation = generation + 1 WHERE name = ?", (collection,))
    conn.executemany(
        "DELETE FROM sources WHERE collection = ? AND uri = ?", [(collection, uri) for uri in delete_sources]
    )
    conn.executemany(
        _UPSERT_STATE,
        [(collection, s.uri, s.raw_hash, s.status, s.error, s.documents, s.updated_at or now) for s in states],
    )


def delete_collection_rows(conn: sqlite3.Connection, collection: str) -> None:
    """Everything in ``collection`` (document triggers take their chunks and FTS rows along)."""
    conn.execute("DELETE FROM documents WHERE collection = ?", (collection,))
    conn.execute("DELETE FROM sources WHERE collection = ?", (collection,))
    conn.execute("DELETE FROM collections WHERE name = ?", (collection,))


def _upsert(
    conn: sqlite3.Connection, collection: str, item: DocumentWrite, dimension: int | None, now: float
) -> int | None:
    """Replace one document and its chunks; returns the collection's (possibly new) dimension."""
    doc = item.document
    vectors = checked_vectors(item, dimension)
    if dimension is None and len(vectors):
        dimension = int(vectors.shape[1])
        conn.execute("UPDATE collections SET dimension = ? WHERE name = ?", (dimension, collection))
    conn.execute(
        "DELETE FROM chunks WHERE document = (SELECT rowid FROM documents WHERE collection = ? AND uri = ?)",
        (collection, doc.uri),
    )
    meta = dump_json(dict(doc.metadata))
    params = (doc.id, collection, doc.uri, doc.source_uri, doc.title, doc.text, doc.text_hash, pages_json(doc.pages))
    row = conn.execute(_UPSERT_DOCUMENT, (*params, meta, item.duplicate_of, now)).fetchone()
    conn.executemany(
        _INSERT_CHUNK,
        [_chunk_row(row[0], chunk, vector) for chunk, vector in zip(item.chunks, vectors, strict=True)],
    )
    return dimension


def _chunk_row(document: int, c: Chunk, vector: Matrix) -> tuple[object, ...]:
    headings = dump_json(list(c.heading_path))
    flags = ",".join(c.flags)
    return (document, c.index, c.text, c.start, c.end, headings, c.page, c.token_count, c.content_hash,
            to_blob(vector), flags)  # fmt: skip
