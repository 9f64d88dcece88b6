"""Conversions between SQLite rows and Quarry's value types (JSON columns, BLOB vectors)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from quarry.stores.base import CollectionInfo, DocumentInfo, SourceState
from quarry.types import Chunk, Document, Hit, Metadata, PageSpan, freeze

__all__ = [
    "CHUNK_COLUMNS",
    "dump_json",
    "pages_json",
    "to_chunk",
    "to_collection",
    "to_document",
    "to_document_info",
    "to_hit",
    "to_state",
]

# Select list for a chunk joined to its document (``c`` chunks, ``d`` documents).
CHUNK_COLUMNS = (
    'c.rowid AS chunk_rowid, c.idx, c.text, c.start, c."end", c.heading_path, c.page, c.token_count, c.flags, '
    "d.id AS document_id, d.uri AS document_uri, d.title, d.metadata"
)


def dump_json(value: Any) -> str:
    """Compact JSON; values JSON cannot hold (dates, paths) are stored as strings."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def pages_json(pages: tuple[PageSpan, ...]) -> str:
    return dump_json([[p.number, p.start, p.end] for p in pages])


def _metadata(raw: str) -> Metadata:
    loaded = json.loads(raw)
    return freeze(loaded if isinstance(loaded, Mapping) else None)


def to_chunk(row: sqlite3.Row) -> Chunk:
    return Chunk(
        document_id=row["document_id"],
        index=row["idx"],
        text=row["text"],
        start=row["start"],
        end=row["end"],
        heading_path=tuple(json.loads(row["heading_path"])),
        page=row["page"],
        token_count=row["token_count"],
        flags=tuple(f for f in row["flags"].split(",") if f),
    )


def to_hit(row: sqlite3.Row, score: float, retriever: str) -> Hit:
    return Hit(
        chunk=to_chunk(row),
        score=float(score),
        document_uri=row["document_uri"],
        title=row["title"],
        metadata=_metadata(row["metadata"]),
        retriever=retriever,
    )


def to_document(row: sqlite3.Row) -> Document:
    return Document(
        uri=row["uri"],
        source_uri=row["source_uri"],
        text=row["text"],
        title=row["title"],
        pages=tuple(PageSpan(n, s, e) for n, s, e in json.loads(row["pages"])),
        metadata=_metadata(row["metadata"]),
    )


def to_document_info(row: sqlite3.Row) -> DocumentInfo:
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


def to_state(row: sqlite3.Row) -> SourceState:
    return SourceState(
        uri=row["uri"],
        raw_hash=row["raw_hash"],
        status=row["status"],
        error=row["error"],
        documents=row["documents"],
        updated_at=row["updated_at"],
    )


def to_collection(row: sqlite3.Row) -> CollectionInfo:
    return CollectionInfo(
        name=row["name"],
        description=row["description"],
        documents=row["documents"],
        chunks=row["chunks"],
        embedder=row["embedder"],
        created_at=row["created_at"],
        generation=row["generation"],
    )
