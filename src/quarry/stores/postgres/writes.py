"""The body of :meth:`PostgresStore.write`; every function runs inside the caller's transaction.

A document's chunks, their BM25 postings and vectors are replaced together: deleting a document cascades to
its chunks and their postings, and the new chunks' postings are computed by PostgreSQL's own English text
search configuration (``to_tsvector('quarry_english', …)``, the
short Lucene stop-word list left out) in the same statement batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from psycopg.types.json import Jsonb

from quarry.errors import CollectionNotFound
from quarry.stores.base import DocumentWrite, SourceState
from quarry.stores.checks import checked_vectors
from quarry.stores.postgres.rows import STOP_LEXEMES, json_ready
from quarry.types import Chunk, Matrix

__all__ = ["apply_write", "ensure_hnsw", "hnsw_index", "normalised"]

_UPSERT_DOCUMENT = """
INSERT INTO documents
    (id, collection, uri, source_uri, title, text, text_hash, pages, metadata, duplicate_of, updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (collection, uri) DO UPDATE SET
    id = excluded.id, source_uri = excluded.source_uri, title = excluded.title, text = excluded.text,
    text_hash = excluded.text_hash, pages = excluded.pages, metadata = excluded.metadata,
    duplicate_of = excluded.duplicate_of, updated_at = excluded.updated_at
RETURNING pk
"""

_INSERT_CHUNK = """
INSERT INTO chunks (document, collection_id, idx, text, start, "end", heading_path, page, token_count,
                    content_hash, flags, embedding)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""

# Postings of a document's chunks, then each chunk's length (the sum of its term frequencies).
_POSTINGS = """
INSERT INTO postings (chunk, collection_id, lexeme, tf)
SELECT c.pk, c.collection_id, t.lexeme, coalesce(array_length(t.positions, 1), 1)
FROM chunks c JOIN documents d ON d.pk = c.document,
     unnest(to_tsvector('quarry_english', c.text || ' ' || (
         SELECT coalesce(string_agg(h, ' '), '') FROM jsonb_array_elements_text(c.heading_path) AS h
     ) || ' ' || d.title)) AS t
WHERE c.document = %s AND t.lexeme <> ALL(%s)
"""
_LENGTHS = """
UPDATE chunks c SET length = coalesce((SELECT sum(p.tf) FROM postings p WHERE p.chunk = c.pk), 0)
WHERE c.document = %s
"""

_UPSERT_STATE = """
INSERT INTO sources (collection, uri, raw_hash, status, error, documents, updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (collection, uri) DO UPDATE SET
    raw_hash = excluded.raw_hash, status = excluded.status, error = excluded.error,
    documents = excluded.documents, updated_at = excluded.updated_at
WHERE (sources.raw_hash, sources.status, sources.error, sources.documents)
   IS DISTINCT FROM (excluded.raw_hash, excluded.status, excluded.error, excluded.documents)
"""


def hnsw_index(collection_id: int) -> str:
    return f"chunks_hnsw_{int(collection_id)}"


def apply_write(
    conn: Any,
    collection: str,
    *,
    upserts: Sequence[DocumentWrite],
    delete_uris: Sequence[str],
    delete_sources: Sequence[str],
    states: Sequence[SourceState],
    now: float,
) -> int:
    """Deletions first, then upserts, then states (so a source deleted and re-added survives). The collection
    row is locked first, so writers of one collection take turns; the generation is bumped only when a
    document or chunk changed."""
    row = conn.execute("SELECT id, dimension FROM collections WHERE name = %s FOR UPDATE", (collection,)).fetchone()
    if row is None:
        raise CollectionNotFound(collection)
    collection_id, dimension = int(row["id"]), row["dimension"]
    changed = 0
    for source_uri in delete_sources:
        changed += conn.execute(
            "DELETE FROM documents WHERE collection = %s AND source_uri = %s", (collection, source_uri)
        ).rowcount
    for uri in delete_uris:
        changed += conn.execute("DELETE FROM documents WHERE collection = %s AND uri = %s", (collection, uri)).rowcount
    for item in upserts:
        dimension = _upsert(conn, collection, collection_id, item, dimension, now)
        changed += 1
    if changed:
        conn.execute("UPDATE collections SET generation = generation + 1 WHERE id = %s", (collection_id,))
    for uri in delete_sources:
        conn.execute("DELETE FROM sources WHERE collection = %s AND uri = %s", (collection, uri))
    for s in states:
        conn.execute(
            _UPSERT_STATE, (collection, s.uri, s.raw_hash, s.status, s.error, s.documents, s.updated_at or now)
        )
    return collection_id


def ensure_hnsw(conn: Any, collection_id: int, threshold: int, connectivity: int, expansion_add: int) -> bool:
    """Give the collection its HNSW index (cosine, on its ``vector(dimension)``) once it holds more than
    ``threshold`` chunks (0 or less: never); below that an exact scan is fast and exact. True if it has one."""
    row = conn.execute(
        "SELECT dimension, to_regclass(%s) IS NOT NULL AS indexed FROM collections WHERE id = %s",
        (hnsw_index(collection_id), collection_id),
    ).fetchone()
    if row is None or row["dimension"] is None or row["indexed"] or threshold <= 0:
        return bool(row and row["indexed"])
    count = conn.execute(  # only until the index exists: an indexed collection costs no count per write
        "SELECT count(*) AS n FROM (SELECT 1 FROM chunks WHERE collection_id = %s LIMIT %s) AS c",
        (collection_id, threshold + 1),
    ).fetchone()
    if count is None or count["n"] <= threshold:
        return False
    conn.execute(
        f"CREATE INDEX IF NOT EXISTS {hnsw_index(collection_id)} ON chunks USING hnsw "
        f"((embedding::vector({int(row['dimension'])})) vector_cosine_ops) "
        f"WITH (m = {int(connectivity)}, ef_construction = {int(expansion_add)}) WHERE collection_id = {collection_id}"
    )
    return True


def normalised(vectors: Matrix) -> Matrix:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.where(norms == 0, 1, norms), dtype=np.float32)


def _upsert(conn: Any, collection: str, collection_id: int, item: DocumentWrite, dimension: int | None,
            now: float) -> int | None:  # fmt: skip
    """Replace one document and its chunks; returns the collection's (possibly new) dimension."""
    doc = item.document
    vectors = checked_vectors(item, dimension)
    if dimension is None and len(vectors):
        dimension = int(vectors.shape[1])
        conn.execute("UPDATE collections SET dimension = %s WHERE id = %s", (dimension, collection_id))
    conn.execute(
        "DELETE FROM chunks WHERE document = (SELECT pk FROM documents WHERE collection = %s AND uri = %s)",
        (collection, doc.uri),
    )
    pages = Jsonb([[p.number, p.start, p.end] for p in doc.pages])
    params = (doc.id, collection, doc.uri, doc.source_uri, doc.title, doc.text, doc.text_hash, pages)
    metadata = Jsonb(json_ready(dict(doc.metadata)))
    document = conn.execute(_UPSERT_DOCUMENT, (*params, metadata, item.duplicate_of, now)).fetchone()["pk"]
    if item.chunks:
        rows = [
            _chunk_row(document, collection_id, c, v) for c, v in zip(item.chunks, normalised(vectors), strict=True)
        ]
        with conn.cursor() as cursor:
            cursor.executemany(_INSERT_CHUNK, rows)
        conn.execute(_POSTINGS, (document, STOP_LEXEMES))
        conn.execute(_LENGTHS, (document,))
    return dimension


def _chunk_row(document: int, collection_id: int, c: Chunk, vector: Matrix) -> tuple[object, ...]:
    return (document, collection_id, c.index, c.text, c.start, c.end, Jsonb(list(c.heading_path)), c.page,
            c.token_count, c.content_hash, ",".join(c.flags), vector)  # fmt: skip
