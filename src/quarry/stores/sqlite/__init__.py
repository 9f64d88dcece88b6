"""The embedded default store: SQLite (WAL) with FTS5 for BM25 and an in-memory numpy vector index."""

from quarry.stores.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
