"""The embedded default store: one SQLite file holding documents, chunks, FTS5 and vectors.

Thread-safety: one connection per thread, opened on first use and closed by :meth:`close` (they
are opened with ``check_same_thread=False`` only so that ``close`` can do that; a connection is
otherwise used by its own thread alone). The in-memory vector matrices and HNSW indexes are shared
by all threads; one background thread keeps the HNSW indexes of big collections up to date (see
:mod:`.ann`).
Every write is one ``BEGIN IMMEDIATE … COMMIT`` transaction; multi-query reads run in a
``BEGIN … COMMIT`` read transaction (a consistent WAL snapshot) and write nothing.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import TracebackType

import numpy as np

from quarry.errors import CollectionNotFound, StoreError
from quarry.stores.base import CollectionInfo, DocumentInfo, DocumentWrite, SourceState
from quarry.stores.filters import Filter
from quarry.stores.sqlite import catalog, search
from quarry.stores.sqlite.ann import AnnIndexes, HnswParams
from quarry.stores.sqlite.keys import rowid_of, rowids_of
from quarry.stores.sqlite.rows import to_chunk, to_collection, to_document, to_document_info, to_state
from quarry.stores.sqlite.schema import connect, migrate
from quarry.stores.sqlite.sparse import BM25_B, BM25_K1, SparseIndex
from quarry.stores.sqlite.vectors import LoadedVectors, VectorIndex, rows_of
from quarry.stores.sqlite.writes import apply_write, delete_collection_rows
from quarry.types import Chunk, Document, Hit, Matrix

__all__ = ["SQLiteStore"]

_HNSW = HnswParams()  # the defaults


class SQLiteStore:
    """A :class:`quarry.stores.base.Store` in one SQLite file (WAL, ``synchronous=NORMAL``)."""

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout_ms: int = 10_000,
        ann_threshold: int = _HNSW.threshold,
        ann_connectivity: int = _HNSW.connectivity,
        ann_expansion_add: int = _HNSW.expansion_add,
        ann_expansion_search: int = _HNSW.expansion_search,
        bm25_k1: float = BM25_K1,
        bm25_b: float = BM25_B,
    ) -> None:
        """``ann_threshold``: collections with more chunks than this also get an HNSW index (0 or
        less: never); the other ``ann_*`` are its M, ef_construction and ef_search. ``bm25_*``:
        the BM25 parameters of the text path (see :mod:`.sparse`)."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_ms = busy_timeout_ms
        self._lock = threading.Lock()
        self._conns: dict[int, tuple[threading.Thread, sqlite3.Connection]] = {}
        self._closed = False
        self._vectors = VectorIndex()
        self._sparse = SparseIndex(bm25_k1, bm25_b)
        params = HnswParams(ann_threshold, ann_connectivity, ann_expansion_add, ann_expansion_search)
        self.ann_folder = self.path.with_name(self.path.name + ".ann")
        self._ann = AnnIndexes(self.ann_folder, params)
        self._allowed: search.AllowedCache = {}
        self._infos: dict[str, tuple[tuple[object, ...], CollectionInfo]] = {}
        try:
            migrate(self._conn())
        except BaseException:
            self.close()
            raise

    # -- connections and transactions

    def _conn(self) -> sqlite3.Connection:
        current = threading.current_thread()
        entry = self._conns.get(threading.get_ident())
        if entry is not None and entry[0] is current:
            return entry[1]
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed", operation="connect", hint="open a new SQLiteStore")
            for ident, (thread, conn) in list(self._conns.items()):
                if not thread.is_alive():  # a finished thread's connection (its id may be reused)
                    conn.close()
                    del self._conns[ident]
            conn = connect(self.path, busy_timeout_ms=self._busy_timeout_ms)
            self._conns[threading.get_ident()] = (current, conn)
            return conn

    @contextmanager
    def _transaction(self, mode: str) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute(f"BEGIN {mode}")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._transaction("IMMEDIATE")

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._transaction("DEFERRED")

    @property
    def total_changes(self) -> int:
        """Rows changed through this store's connections since they opened (for diagnostics)."""
        with self._lock:
            return sum(conn.total_changes for _, conn in self._conns.values())

    def close(self) -> None:
        self._ann.close()
        with self._lock:
            self._closed = True
            for _, conn in self._conns.values():
                conn.close()
            self._conns.clear()
        self._vectors.clear()
        self._sparse.clear()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    # -- collections

    def ensure_collection(self, name: str, *, embedder: str, description: str = "") -> CollectionInfo:
        catalog.check_name(name)
        built_with = catalog.embedder_of(self._conn(), name)
        if built_with is None:
            with self._write() as conn:
                catalog.insert_collection(conn, name, description, embedder)
                built_with = catalog.embedder_of(conn, name)
        if built_with != embedder:
            raise StoreError(
                f"collection {name!r} was built with embedder {built_with!r}, not {embedder!r}",
                operation="ensure_collection",
                hint="use a new collection name for another embedder, or delete this collection first",
            )
        return self.collection(name)

    def collections(self) -> list[CollectionInfo]:
        hidden = " WHERE instr(c.name, '~') = 0"  # shadow and kept indexes of an embedder swap
        rows = self._conn().execute(catalog.COLLECTION_INFO + hidden + " ORDER BY c.name").fetchall()
        return [to_collection(row) for row in rows]

    def collection(self, name: str) -> CollectionInfo:
        """Counting a collection's chunks scans them (~4 ms at 12.5k, half the CPU of a BM25 search
        under load), so the info is remembered per (generation, description, embedder): one
        indexed row read decides whether the remembered counts still hold."""
        state = (
            self._conn()
            .execute("SELECT generation, description, embedder FROM collections WHERE name = ?", (name,))
            .fetchone()
        )
        if state is None:
            raise CollectionNotFound(name)
        key = tuple(state)
        with self._lock:
            remembered = self._infos.get(name)
        if remembered is not None and remembered[0] == key:
            return remembered[1]
        row = self._conn().execute(catalog.COLLECTION_INFO + " WHERE c.name = ?", (name,)).fetchone()
        if row is None:
            raise CollectionNotFound(name)
        info = to_collection(row)
        with self._lock:
            self._infos[name] = ((info.generation, info.description, info.embedder), info)
        return info

    def delete_collection(self, name: str) -> None:
        with self._write() as conn:
            catalog.require(conn, name)
            delete_collection_rows(conn, name)
        self._vectors.forget(name)
        self._ann.drop(name)

    def swap_collections(self, live: str, shadow: str, *, expected_generation: int | None = None) -> None:
        with self._write() as conn:
            catalog.swap_names(conn, live, shadow, expected_generation)
        for name in (live, shadow):
            self._vectors.forget(name)
            self._ann.drop(name)

    # -- ingestion state

    def source_states(self, collection: str, prefix: str = "") -> dict[str, SourceState]:
        with self._read() as conn:
            catalog.require(conn, collection)
            rows = conn.execute(
                "SELECT * FROM sources WHERE collection = ? AND substr(uri, 1, ?) = ? ORDER BY uri",
                (collection, len(prefix), prefix),
            ).fetchall()
        return {row["uri"]: to_state(row) for row in rows}

    def document_hashes(self, collection: str, source_uri: str) -> dict[str, str]:
        with self._read() as conn:
            catalog.require(conn, collection)
            rows = conn.execute(
                "SELECT uri, text_hash FROM documents WHERE collection = ? AND source_uri = ?",
                (collection, source_uri),
            ).fetchall()
        return {row["uri"]: row["text_hash"] for row in rows}

    def find_text_hash(self, collection: str, text_hash: str) -> str | None:
        with self._read() as conn:
            catalog.require(conn, collection)
            row = conn.execute(
                "SELECT uri FROM documents WHERE collection = ? AND text_hash = ? AND duplicate_of IS NULL "
                "ORDER BY uri LIMIT 1",
                (collection, text_hash),
            ).fetchone()
        return None if row is None else str(row["uri"])

    def write(
        self,
        collection: str,
        *,
        upserts: Sequence[DocumentWrite] = (),
        delete_uris: Sequence[str] = (),
        delete_sources: Sequence[str] = (),
        states: Sequence[SourceState] = (),
    ) -> None:
        if not (upserts or delete_uris or delete_sources or states):
            return
        with self._write() as conn:
            apply_write(
                conn,
                collection,
                upserts=upserts,
                delete_uris=delete_uris,
                delete_sources=delete_sources,
                states=states,
                now=time.time(),
            )
        self._vectors.forget(collection)  # free the stale matrix now; the generation also says so

    # -- reading

    def documents(self, collection: str, *, limit: int = 100, offset: int = 0) -> list[DocumentInfo]:
        with self._read() as conn:
            catalog.require(conn, collection)
            rows = conn.execute(
                "SELECT d.*, (SELECT count(*) FROM chunks c WHERE c.document = d.rowid) AS chunks "
                "FROM documents d WHERE d.collection = ? ORDER BY d.uri LIMIT ? OFFSET ?",
                (collection, limit, offset),
            ).fetchall()
        return [to_document_info(row) for row in rows]

    def document(self, collection: str, uri: str) -> Document | None:
        with self._read() as conn:
            catalog.require(conn, collection)
            row = conn.execute("SELECT * FROM documents WHERE collection = ? AND uri = ?", (collection, uri)).fetchone()
        return None if row is None else to_document(row)

    def chunks(self, collection: str, document_uri: str) -> list[Chunk]:
        with self._read() as conn:
            catalog.require(conn, collection)
            rows = conn.execute(
                'SELECT d.id AS document_id, c.idx, c.text, c.start, c."end", c.heading_path, c.page, c.token_count, '
                "c.flags "
                "FROM documents d JOIN chunks c ON c.document = d.rowid WHERE d.collection = ? AND d.uri = ? "
                "ORDER BY c.idx",
                (collection, document_uri),
            ).fetchall()
        return [to_chunk(row) for row in rows]

    def search_text(self, collection: str, query: str, k: int, where: Filter | None = None) -> list[Hit]:
        with self._read() as conn:  # rank and hydrate in one snapshot: a concurrent delete loses no hit
            ranked = self._rank_text(conn, collection, query, k, where)
            found = search.hydrate(conn, ranked, "bm25")
        return [found[rowid] for rowid, _ in ranked if rowid in found]

    def search_vector(self, collection: str, vector: Matrix, k: int, where: Filter | None = None) -> list[Hit]:
        with self._read() as conn:
            ranked = self._rank_vector(conn, collection, vector, k, where)
            found = search.hydrate(conn, ranked, "dense")
        return [found[rowid] for rowid, _ in ranked if rowid in found]

    def rank_text(self, collection: str, query: str, k: int, where: Filter | None = None) -> list[tuple[str, float]]:
        with self._read() as conn:
            return [(str(rowid), score) for rowid, score in self._rank_text(conn, collection, query, k, where)]

    def rank_vector(
        self, collection: str, vector: Matrix, k: int, where: Filter | None = None
    ) -> list[tuple[str, float]]:
        with self._read() as conn:
            return [(str(rowid), score) for rowid, score in self._rank_vector(conn, collection, vector, k, where)]

    def _rank_text(
        self, conn: sqlite3.Connection, collection: str, query: str, k: int, where: Filter | None
    ) -> list[tuple[int, float]]:
        loaded = self._sparse.get(conn, collection, catalog.require_generation(conn, collection))
        return search.text(conn, collection, loaded, query, k, where, self._allowed)

    def _rank_vector(
        self, conn: sqlite3.Connection, collection: str, vector: Matrix, k: int, where: Filter | None
    ) -> list[tuple[int, float]]:
        loaded = self._loaded_vectors(conn, collection)
        if loaded is None or k <= 0:
            return []
        return search.vector(conn, collection, loaded, vector, k, where, self._allowed, self._ann)

    def _loaded_vectors(self, conn: sqlite3.Connection, collection: str) -> LoadedVectors | None:
        """The collection's vectors in ``conn``'s snapshot (``None``: nothing stored yet)."""
        row = conn.execute("SELECT id, generation, dimension FROM collections WHERE name = ?", (collection,)).fetchone()
        if row is None:
            raise CollectionNotFound(collection)
        if row["dimension"] is None:
            return None
        return self._vectors.get(conn, collection, (row["id"], row["generation"]), row["dimension"])

    def build_ann(self, collection: str) -> bool:
        """Bring the collection's HNSW index up to date now (searches otherwise do it in the
        background, searching exactly meanwhile). ``False`` if the collection is at or below the
        threshold, so it has no index."""
        with self._read() as conn:
            loaded = self._loaded_vectors(conn, collection)
        return loaded is not None and self._ann.params.wanted(len(loaded.rowids)) and self._ann.wait(collection, loaded)

    def best_chunks(
        self,
        collection: str,
        keys: Sequence[str],
        *,
        query: str | None = None,
        vector: Matrix | None = None,
        where: Filter | None = None,
    ) -> dict[str, tuple[str, float]]:
        """Exact per-document scores over the in-memory indexes (see the protocol)."""
        if (query is None) == (vector is None):
            raise StoreError("give best_chunks a query or a vector, not both", operation="best_chunks")
        rowids = rowids_of(keys)
        with self._read() as conn:
            if query is not None:
                row = catalog.require_generation(conn, collection)
                allowed = search.allowed_documents(conn, collection, where, self._allowed)
                best = search.best_text(self._sparse.get(conn, collection, row), query, rowids, allowed)
            else:
                loaded = self._loaded_vectors(conn, collection)
                best = {} if loaded is None or vector is None else search.best_vector(loaded, vector, rowids)
        return {str(document): (str(rowid), score) for document, (rowid, score) in best.items()}

    def vectors(self, collection: str, keys: Sequence[str]) -> Matrix:
        """Rows of the in-memory matrix (no SQL per key); a missing chunk's row is zeros."""
        with self._read() as conn:
            loaded = self._loaded_vectors(conn, collection)
        if loaded is None:
            return np.zeros((len(keys), 0), dtype=np.float32)
        return rows_of(loaded, np.array([rowid_of(key) for key in keys], dtype=np.int64))

    def hits(self, collection: str, ranked: Sequence[tuple[str, float]], retriever: str) -> dict[str, Hit]:
        if not ranked:
            return {}
        with self._read() as conn:
            found = search.hydrate(conn, [(int(key), score) for key, score in ranked], retriever)
        return {str(rowid): hit for rowid, hit in found.items()}
