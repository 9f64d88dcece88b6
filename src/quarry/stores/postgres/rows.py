"""Conversions between PostgreSQL rows (``dict_row``; JSONB arrives decoded) and Quarry's value types."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import Stemmer
from bm25s.stopwords import STOPWORDS_EN

from quarry.stores.base import CollectionInfo, DocumentInfo, SourceState
from quarry.types import Chunk, Document, Hit, Metadata, PageSpan, freeze

__all__ = [
    "CHUNK_COLUMNS",
    "STOP_LEXEMES",
    "to_chunk",
    "to_collection",
    "to_document",
    "to_document_info",
    "to_hit",
    "to_state",
]

Row = Mapping[str, Any]

# The stop words the SQLite store's BM25 drops (Lucene's English list), as Snowball stems: left out of the
# postings and of queries, so both engines rank with the same words.
STOP_LEXEMES = sorted({Stemmer.Stemmer("english").stemWord(word) for word in STOPWORDS_EN})

# Select list for a chunk joined to its document (``c`` chunks, ``d`` documents).
CHUNK_COLUMNS = (
    'c.pk AS chunk_pk, c.idx, c.text, c.start, c."end", c.heading_path, c.page, c.token_count, c.flags, '
    "d.id AS document_id, d.uri AS document_uri, d.title, d.metadata"
)


def _metadata(raw: object) -> Metadata:
    return freeze(raw if isinstance(raw, Mapping) else None)


def to_chunk(row: Row) -> Chunk:
    return Chunk(
        document_id=row["document_id"],
        index=row["idx"],
        text=row["text"],
        start=row["start"],
        end=row["end"],
        heading_path=tuple(row["heading_path"]),
        page=row["page"],
        token_count=row["token_count"],
        flags=tuple(f for f in row["flags"].split(",") if f),
    )


def to_hit(row: Row, score: float, retriever: str) -> Hit:
    return Hit(
        chunk=to_chunk(row),
        score=float(score),
        document_uri=row["document_uri"],
        title=row["title"],
        metadata=_metadata(row["metadata"]),
        retriever=retriever,
    )


def to_document(row: Row) -> Document:
    return Document(
        uri=row["uri"],
        source_uri=row["source_uri"],
        text=row["text"],
        title=row["title"],
        pages=tuple(PageSpan(n, s, e) for n, s, e in row["pages"]),
        metadata=_metadata(row["metadata"]),
    )


def to_document_info(row: Row) -> DocumentInfo:
    return DocumentInfo(
        id=row["id"],
        uri=row["uri"],
        source_uri=row["source_uri"],
        title=row["title"],
        text_hash=row["text_hash"],
        chunks=row["chunks"],
        duplicate_of=row["duplicate_of"],
        metadata=_metadata(row["metadata"]),
        updated_at=row["updated_at"],
    )


def to_state(row: Row) -> SourceState:
    return SourceState(
        uri=row["uri"],
        raw_hash=row["raw_hash"],
        status=row["status"],
        error=row["error"],
        documents=row["documents"],
        updated_at=row["updated_at"],
    )


def to_collection(row: Row) -> CollectionInfo:
    return CollectionInfo(
        name=row["name"],
        description=row["description"],
        documents=row["documents"],
        chunks=row["chunks"],
        embedder=row["embedder"],
        created_at=row["created_at"],
        generation=row["generation"],
    )


def json_ready(value: Any) -> Any:
    """Values JSON cannot hold (dates, paths) become strings, as the SQLite adapter stores them."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))
