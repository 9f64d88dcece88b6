"""The store seams, one small protocol per capability, each with its own conformance suite in
:mod:`quarry.testing` (as haystack has one per document store):

- :class:`CollectionCatalog` — named collections and the embedder each was built with;
- :class:`DocumentStore` — documents, their chunks and versions, ingestion state, the atomic write;
- :class:`SearchIndex` — lexical and dense ranking inside the store, hits, exact per-document scores;
- :class:`Store` — the knowledge base: the three above on one engine, because a write must replace a
  document's chunks in both indexes in one transaction;
- :class:`TraceStore` — finished traces; :mod:`quarry.stores.keys` and :mod:`quarry.stores.jobs` hold API
  keys and ingest jobs.

Each is chosen by engine (``[store] url``: ``sqlite:///…`` today) in :mod:`quarry.assembly`, so a second
engine is a set of adapters, not a fork. Semantics every knowledge-base adapter honours (checked by
:mod:`quarry.testing.store_conformance`):

- Collections are separate namespaces; a document uri is unique within its collection.
- :meth:`Store.write` is atomic: the documents it upserts replace their previous chunks in the
  full-text index *and* the vector index in the same transaction the new ones appear in, and the
  deletions and the source states it records commit with them. After a crash either the whole
  call is visible or none of it is.
- A call that changes nothing writes nothing (callers skip unchanged work; the store never
  rewrites identical rows on its own).
- Searches return at most ``k`` hits, best first, filtered *inside* the search (never a post-filter).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from quarry.stores.filters import Filter
from quarry.tracing.spans import SpanSink
from quarry.types import Chunk, Document, Hit, Matrix, Metadata, freeze

__all__ = [
    "CollectionCatalog",
    "CollectionInfo",
    "DocumentInfo",
    "DocumentStore",
    "DocumentWrite",
    "SearchIndex",
    "SourceState",
    "Store",
    "TraceRecord",
    "TraceStore",
]


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    """A collection and its size. ``generation`` changes whenever a write changes the collection's
    documents or chunks (never on a read or a no-op), so a cache of search results may key on it."""

    name: str
    description: str
    documents: int
    chunks: int
    embedder: str | None
    created_at: float
    generation: int = 0


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """A stored document without its chunks."""

    id: str
    uri: str
    source_uri: str
    title: str
    text_hash: str
    chunks: int
    duplicate_of: str | None
    metadata: Metadata
    updated_at: float


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the last run saw of one source unit (a file, a URL, a SQL row).

    ``raw_hash`` is the hash of the bytes *and* the pipeline fingerprint, so a changed chunker or
    embedder makes every source look changed. ``status`` is ``"ok"`` or ``"failed"``; a failed
    source keeps its previous documents and records ``error``.
    """

    uri: str
    raw_hash: str
    status: str = "ok"
    error: str = ""
    documents: int = 0
    updated_at: float = 0.0


@dataclass(frozen=True, slots=True)
class DocumentWrite:
    """A document with its chunks and their vectors (``vectors[i]`` belongs to ``chunks[i]``).

    ``duplicate_of`` marks an exact duplicate of another document's text: it is stored, with no
    chunks, so the same passage is never indexed twice.
    """

    document: Document
    chunks: Sequence[Chunk]
    vectors: Matrix
    duplicate_of: str | None = None


@dataclass(frozen=True, slots=True)
class TraceRecord:
    trace_id: str
    kind: str
    name: str
    started_at: float
    duration: float
    status: str
    spans: Sequence[dict[str, object]] = field(default_factory=tuple)
    attributes: Metadata = field(default_factory=lambda: freeze(None))


class CollectionCatalog(Protocol):
    def ensure_collection(self, name: str, *, embedder: str, description: str = "") -> CollectionInfo:
        """Create ``name`` if missing. Raises StoreError if it exists with a different embedder."""
        ...

    def collections(self) -> list[CollectionInfo]: ...

    def collection(self, name: str) -> CollectionInfo:
        """Raises CollectionNotFound."""
        ...

    def delete_collection(self, name: str) -> None: ...

    def swap_collections(self, live: str, shadow: str, *, expected_generation: int | None = None) -> None:
        """Exchange the two collections' names (documents, chunks, vectors and sources go with them) in one
        transaction, so a search sees one index or the other, never a mix. Raises StaleSwap when ``live``'s
        generation is no longer ``expected_generation``, CollectionNotFound when either is missing."""
        ...


class DocumentStore(Protocol):
    def source_states(self, collection: str, prefix: str = "") -> dict[str, SourceState]:
        """States of the sources whose uri starts with ``prefix``, by uri."""
        ...

    def document_hashes(self, collection: str, source_uri: str) -> dict[str, str]:
        """``{document uri: text_hash}`` for the documents of one source."""
        ...

    def find_text_hash(self, collection: str, text_hash: str) -> str | None:
        """The uri of a non-duplicate document in ``collection`` with this text hash, if any."""
        ...

    def write(
        self,
        collection: str,
        *,
        upserts: Sequence[DocumentWrite] = (),
        delete_uris: Sequence[str] = (),
        delete_sources: Sequence[str] = (),
        states: Sequence[SourceState] = (),
    ) -> None:
        """Atomically upsert documents, delete documents (by uri) and whole sources (their
        documents and state), and record source states."""
        ...

    def documents(self, collection: str, *, limit: int = 100, offset: int = 0) -> list[DocumentInfo]: ...

    def document(self, collection: str, uri: str) -> Document | None: ...

    def chunks(self, collection: str, document_uri: str) -> list[Chunk]: ...


class SearchIndex(Protocol):
    def search_text(self, collection: str, query: str, k: int, where: Filter | None = None) -> list[Hit]: ...

    def search_vector(self, collection: str, vector: Matrix, k: int, where: Filter | None = None) -> list[Hit]: ...

    def rank_text(self, collection: str, query: str, k: int, where: Filter | None = None) -> list[tuple[str, float]]:
        """Like :meth:`search_text` but returns ``(key, score)`` with opaque chunk keys, so a caller
        can fuse several rankings and fetch only the hits it keeps with :meth:`hits`."""
        ...

    def rank_vector(
        self, collection: str, vector: Matrix, k: int, where: Filter | None = None
    ) -> list[tuple[str, float]]: ...

    def hits(self, collection: str, ranked: Sequence[tuple[str, float]], retriever: str) -> dict[str, Hit]:
        """Hits for keys from ``rank_*``, by key, scored as given; keys of chunks deleted since are
        absent."""
        ...

    def best_chunks(
        self,
        collection: str,
        keys: Sequence[str],
        *,
        query: str | None = None,
        vector: Matrix | None = None,
        where: Filter | None = None,
    ) -> dict[str, tuple[str, float]]:
        """For every document holding one of ``keys`` (chunk keys from ``rank_*``): its best chunk
        on one path and that chunk's exact score — as :meth:`rank_text` scores ``query`` (0 when no
        chunk matches), or as :meth:`rank_vector` scores ``vector`` (cosine). Keyed by an opaque
        document key; keys of deleted chunks are ignored. Give exactly one of ``query`` and
        ``vector``; ``where`` is the search's filter, so text scores use the same statistics as
        :meth:`rank_text` under it (BM25 statistics never include documents the filter hides).
        Used to fuse documents with both paths' scores known exactly, instead of a
        floor for a document one path did not rank in its top ``depth``. Raises CollectionNotFound."""
        ...

    def vectors(self, collection: str, keys: Sequence[str]) -> Matrix:
        """The stored, L2-normalised vectors of chunk keys from ``rank_*``: row ``i`` belongs to
        ``keys[i]``, shape ``(len(keys), dimension)``. The row of a key whose chunk no longer exists
        (or never did) is all zeros, so it has cosine 0 with everything and rows stay aligned.
        Raises CollectionNotFound."""
        ...


class Store(CollectionCatalog, DocumentStore, SearchIndex, Protocol):
    """The knowledge base: collections, documents and both indexes on one engine (see the module docstring)."""

    def close(self) -> None: ...


class TraceStore(SpanSink, Protocol):
    """Finished traces (it receives them as a :class:`~quarry.tracing.SpanSink`), newest first."""

    def traces(
        self, limit: int = 20, kind: str | Sequence[str] | None = None, *, where: Mapping[str, str] | None = None
    ) -> list[TraceRecord]:
        """Newest first: of one kind or several, and whose root attributes equal ``where``'s strings."""
        ...

    def trace(self, trace_id: str) -> TraceRecord | None:
        """Accepts a unique prefix of the id."""
        ...

    def close(self) -> None: ...
