"""The PostgreSQL knowledge base: collections, documents, BM25 postings and pgvector embeddings in one database.

Every call runs in one transaction on a pooled connection, so a search ranks and hydrates from one snapshot
and :meth:`PostgresStore.write` swaps a document's chunks, postings and vectors atomically; writers of one
collection take turns on its row lock. Nothing is held in process memory: several API processes (or hosts)
serve the same database and see each other's writes at once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from quarry.errors import CollectionNotFound, StoreError
from quarry.stores.base import CollectionInfo, DocumentInfo, DocumentWrite, SourceState
from quarry.stores.checks import StaleSwap, check_name
from quarry.stores.filters import Filter
from quarry.stores.postgres import search
from quarry.stores.postgres.database import Database, open_database, release
from quarry.stores.postgres.rows import to_chunk, to_collection, to_document, to_document_info, to_state
from quarry.stores.postgres.writes import apply_write, ensure_hnsw, hnsw_index
from quarry.types import Chunk, Document, Hit, Matrix

__all__ = ["PostgresStore"]

_COLLECTION_INFO = """
SELECT c.name, c.description, c.embedder, c.created_at, c.generation,
    (SELECT count(*) FROM documents d WHERE d.collection = c.name) AS documents,
    (SELECT count(*) FROM chunks ch WHERE ch.collection_id = c.id) AS chunks
FROM collections c
"""


class PostgresStore:
    """A :class:`quarry.stores.base.Store` on PostgreSQL with pgvector (see the module docstring)."""

    def __init__(self, url: str, *, ann_threshold: int = 20_000, ann_connectivity: int = 16,
                 ann_expansion_add: int = 128, ann_expansion_search: int = 64, bm25_k1: float = 0.9,
                 bm25_b: float = 0.4) -> None:  # fmt: skip
        """``ann_*``: collections with more chunks than ``ann_threshold`` get an HNSW index with these M,
        ef_construction and ef_search (0 or less: never; smaller collections are searched exactly)."""
        self.url = url
        self.ann = (ann_threshold, ann_connectivity, ann_expansion_add)
        self.ef_search, self.k1, self.b = ann_expansion_search, bm25_k1, bm25_b
        self._db: Database | None = open_database(url)
        self._infos: dict[str, tuple[tuple[object, ...], CollectionInfo]] = {}  # name → (state, info)

    @property
    def db(self) -> Database:
        if self._db is None:
            raise StoreError("the store is closed", operation="connect", hint="open a new PostgresStore")
        return self._db

    def close(self) -> None:
        if self._db is not None:
            release(self._db)
            self._db = None

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- collections

    def ensure_collection(self, name: str, *, embedder: str, description: str = "") -> CollectionInfo:
        check_name(name)
        with self.db.transaction() as conn:
            row = conn.execute("SELECT embedder FROM collections WHERE name = %s", (name,)).fetchone()
            if row is None:  # only a missing collection costs a write
                created = conn.execute(
                    "INSERT INTO collections (name, description, embedder, created_at) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (name) DO NOTHING RETURNING id",
                    (name, description, embedder, time.time()),
                ).fetchone()
                if created is not None:  # start above any generation a deleted namesake reached (ids never recur)
                    conn.execute("UPDATE collections SET generation = id << 32 WHERE id = %s", (created["id"],))
                row = conn.execute("SELECT embedder FROM collections WHERE name = %s", (name,)).fetchone()
        if row is None:  # deleted by another process in between
            raise CollectionNotFound(name)
        if row["embedder"] != embedder:
            raise StoreError(
                f"collection {name!r} was built with embedder {row['embedder']!r}, not {embedder!r}",
                operation="ensure_collection",
                hint="use a new collection name for another embedder, or delete this collection first",
            )
        return self.collection(name)

    @property
    def total_changes(self) -> int:
        """The database's next transaction id: it moves only when some transaction writes (for diagnostics)."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xid").fetchone()
        return int(row["xid"]) if row else 0

    def collections(self) -> list[CollectionInfo]:
        with self.db.transaction() as conn:
            return [
                to_collection(r)
                for r in conn.execute(
                    _COLLECTION_INFO + " WHERE strpos(c.name, '~') = 0" + ' ORDER BY c.name COLLATE "C"'
                ).fetchall()
            ]

    def collection(self, name: str) -> CollectionInfo:
        """Counting a collection's chunks scans them, so the counts are remembered per (id, generation,
        description): one primary-key read decides whether they still hold (any process's write moves the
        generation)."""
        with self.db.transaction() as conn:
            state = conn.execute(
                "SELECT id, generation, description, embedder FROM collections WHERE name = %s", (name,)
            ).fetchone()
            if state is None:
                raise CollectionNotFound(name)
            key = tuple(state.values())
            remembered = self._infos.get(name)
            if remembered is not None and remembered[0] == key:
                return remembered[1]
            row = conn.execute(_COLLECTION_INFO + " WHERE c.id = %s", (state["id"],)).fetchone()
        if row is None:
            raise CollectionNotFound(name)
        info = to_collection(row)
        self._infos[name] = (key, info)
        return info

    def delete_collection(self, name: str) -> None:
        with self.db.transaction() as conn:
            collection_id = _require(conn, name)
            conn.execute("SELECT 1 FROM collections WHERE id = %s FOR UPDATE", (collection_id,))
            conn.execute("DELETE FROM documents WHERE collection = %s", (name,))  # chunks, postings follow
            conn.execute("DELETE FROM collections WHERE id = %s", (collection_id,))  # sources follow
            conn.execute(f"DROP INDEX IF EXISTS {hnsw_index(collection_id)}")

    def swap_collections(self, live: str, shadow: str, *, expected_generation: int | None = None) -> None:
        """Exchange the names in one transaction (documents and sources follow by ON UPDATE CASCADE; chunks and
        postings hang off the ids); both generations move above either's."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT id, name, generation FROM collections WHERE name IN (%s, %s) ORDER BY id FOR UPDATE",
                (live, shadow),
            ).fetchall()
            by_name = {r["name"]: r for r in rows}
            for name in (live, shadow):
                if name not in by_name:
                    raise CollectionNotFound(name)
            found = int(by_name[live]["generation"])
            if expected_generation is not None and found != expected_generation:
                raise StaleSwap(live, expected_generation, found)
            parked = f"{live}~swap-{by_name[live]['id']}"
            for old, new in ((live, parked), (shadow, live), (parked, shadow)):
                conn.execute("UPDATE collections SET name = %s WHERE name = %s", (new, old))
            top = max(int(r["generation"]) for r in rows) + 1
            conn.execute("UPDATE collections SET generation = %s WHERE name IN (%s, %s)", (top, live, shadow))
        self._infos.pop(live, None)
        self._infos.pop(shadow, None)

    # -- ingestion state

    def source_states(self, collection: str, prefix: str = "") -> dict[str, SourceState]:
        with self.db.transaction() as conn:
            _require(conn, collection)
            rows = conn.execute(
                "SELECT * FROM sources WHERE collection = %s AND left(uri, %s) = %s ORDER BY uri",
                (collection, len(prefix), prefix),
            ).fetchall()
        return {row["uri"]: to_state(row) for row in rows}

    def document_hashes(self, collection: str, source_uri: str) -> dict[str, str]:
        with self.db.transaction() as conn:
            _require(conn, collection)
            rows = conn.execute(
                "SELECT uri, text_hash FROM documents WHERE collection = %s AND source_uri = %s",
                (collection, source_uri),
            ).fetchall()
        return {row["uri"]: row["text_hash"] for row in rows}

    def find_text_hash(self, collection: str, text_hash: str) -> str | None:
        with self.db.transaction() as conn:
            _require(conn, collection)
            row = conn.execute(
                "SELECT uri FROM documents WHERE collection = %s AND text_hash = %s AND duplicate_of IS NULL "
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
        with self.db.transaction() as conn:
            collection_id = apply_write(conn, collection, upserts=upserts, delete_uris=delete_uris,
                                        delete_sources=delete_sources, states=states, now=time.time())  # fmt: skip
            if upserts:
                ensure_hnsw(conn, collection_id, *self.ann)

    # -- reading

    def documents(self, collection: str, *, limit: int = 100, offset: int = 0) -> list[DocumentInfo]:
        with self.db.transaction() as conn:
            _require(conn, collection)
            rows = conn.execute(
                "SELECT d.*, (SELECT count(*) FROM chunks c WHERE c.document = d.pk) AS chunks "
                'FROM documents d WHERE d.collection = %s ORDER BY d.uri COLLATE "C" LIMIT %s OFFSET %s',
                (collection, limit, offset),
            ).fetchall()
        return [to_document_info(row) for row in rows]

    def document(self, collection: str, uri: str) -> Document | None:
        with self.db.transaction() as conn:
            _require(conn, collection)
            row = conn.execute(
                "SELECT * FROM documents WHERE collection = %s AND uri = %s", (collection, uri)
            ).fetchone()
        return None if row is None else to_document(row)

    def chunks(self, collection: str, document_uri: str) -> list[Chunk]:
        with self.db.transaction() as conn:
            _require(conn, collection)
            rows = conn.execute(
                'SELECT d.id AS document_id, c.idx, c.text, c.start, c."end", c.heading_path, c.page, '
                "c.token_count, c.flags FROM documents d JOIN chunks c ON c.document = d.pk "
                "WHERE d.collection = %s AND d.uri = %s ORDER BY c.idx",
                (collection, document_uri),
            ).fetchall()
        return [to_chunk(row) for row in rows]

    # -- searching

    def search_text(self, collection: str, query: str, k: int, where: Filter | None = None) -> list[Hit]:
        with self.db.transaction() as conn:  # rank and hydrate in one snapshot: a concurrent delete loses no hit
            ranked = self._rank_text(conn, collection, query, k, where)
            found = search.hydrate(conn, ranked, "bm25")
        return [found[pk] for pk, _ in ranked if pk in found]

    def search_vector(self, collection: str, vector: Matrix, k: int, where: Filter | None = None) -> list[Hit]:
        with self.db.transaction() as conn:
            ranked = self._rank_vector(conn, collection, vector, k, where)
            found = search.hydrate(conn, ranked, "dense")
        return [found[pk] for pk, _ in ranked if pk in found]

    def rank_text(self, collection: str, query: str, k: int, where: Filter | None = None) -> list[tuple[str, float]]:
        with self.db.transaction() as conn:
            return [(str(pk), score) for pk, score in self._rank_text(conn, collection, query, k, where)]

    def rank_vector(
        self, collection: str, vector: Matrix, k: int, where: Filter | None = None
    ) -> list[tuple[str, float]]:
        with self.db.transaction() as conn:
            return [(str(pk), score) for pk, score in self._rank_vector(conn, collection, vector, k, where)]

    def _rank_text(
        self, conn: Any, collection: str, query: str, k: int, where: Filter | None
    ) -> list[tuple[int, float]]:
        collection_id = _require(conn, collection)
        return search.text(conn, collection_id, query, k, where, k1=self.k1, b=self.b)

    def _rank_vector(
        self, conn: Any, collection: str, vector: Matrix, k: int, where: Filter | None
    ) -> list[tuple[int, float]]:
        collection_id, dimension = _dimension(conn, collection)
        if dimension is None:
            return []
        iterative = self.db.pgvector >= (0, 8)
        return search.vector(conn, collection_id, dimension, vector, k, where, ef_search=self.ef_search,
                             iterative=iterative)  # fmt: skip

    def best_chunks(
        self,
        collection: str,
        keys: Sequence[str],
        *,
        query: str | None = None,
        vector: Matrix | None = None,
        where: Filter | None = None,
    ) -> dict[str, tuple[str, float]]:
        if (query is None) == (vector is None):
            raise StoreError("give best_chunks a query or a vector, not both", operation="best_chunks")
        pks = _pks(keys)
        with self.db.transaction() as conn:
            collection_id, dimension = _dimension(conn, collection)
            if not pks:
                return {}
            if query is not None:
                best = search.best_text(conn, collection_id, query, pks, where, k1=self.k1, b=self.b)
            else:
                best = {} if dimension is None or vector is None else search.best_vector(
                    conn, collection_id, dimension, vector, pks
                )  # fmt: skip
        return {str(document): (str(pk), score) for document, (pk, score) in best.items()}

    def vectors(self, collection: str, keys: Sequence[str]) -> Matrix:
        pks = [int(k) if k.isdigit() else -1 for k in keys]
        with self.db.transaction() as conn:
            collection_id, dimension = _dimension(conn, collection)
            if dimension is None:
                return np.zeros((len(keys), 0), dtype=np.float32)
            rows = conn.execute(
                "SELECT pk, embedding FROM chunks WHERE pk = ANY(%s) AND collection_id = %s", (pks, collection_id)
            ).fetchall()
        found = {int(r["pk"]): np.asarray(r["embedding"].to_numpy(), dtype=np.float32) for r in rows}
        matrix = np.zeros((len(keys), dimension), dtype=np.float32)
        for i, pk in enumerate(pks):
            if pk in found:
                matrix[i] = found[pk]
        return matrix

    def hits(self, collection: str, ranked: Sequence[tuple[str, float]], retriever: str) -> dict[str, Hit]:
        scored = [(int(key), score) for key, score in ranked if key.isdigit()]
        if not scored:
            return {}
        with self.db.transaction() as conn:
            found = search.hydrate(conn, scored, retriever)
        return {str(pk): hit for pk, hit in found.items()}


def _require(conn: Any, collection: str) -> int:
    row = conn.execute("SELECT id FROM collections WHERE name = %s", (collection,)).fetchone()
    if row is None:
        raise CollectionNotFound(collection)
    return int(row["id"])


def _dimension(conn: Any, collection: str) -> tuple[int, int | None]:
    row = conn.execute("SELECT id, dimension FROM collections WHERE name = %s", (collection,)).fetchone()
    if row is None:
        raise CollectionNotFound(collection)
    return int(row["id"]), row["dimension"]


def _pks(keys: Sequence[str]) -> list[int]:
    return [int(key) for key in keys if key.isdigit()]
