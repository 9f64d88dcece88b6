"""A content-addressed store of embedding vectors: ``(model_id, content_hash) → float32 vector``.

Vectors live in their own SQLite file (WAL mode), so re-ingesting unchanged text — in any collection,
after any restart — costs a lookup instead of a model call. One connection, guarded by a lock, serves
all threads. Call :meth:`EmbeddingCache.close` (or use it as a context manager) when done.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from quarry.sqlite_wal import use_wal
from quarry.types import Matrix

__all__ = ["CacheStats", "EmbeddingCache"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    model_id TEXT NOT NULL,
    hash TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model_id, hash)
) WITHOUT ROWID
"""
_MAX_PARAMS = 500  # hashes per SELECT, well under SQLite's bound-parameter limit


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Rows stored (in all, and per model id) and this instance's lookup hits and misses."""

    entries: int
    models: dict[str, int]
    hits: int
    misses: int


class EmbeddingCache:
    """Vectors by ``(model_id, content_hash)``; safe to share between threads."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            use_wal(self._conn)
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)
        except sqlite3.Error:
            self._conn.close()
            raise
        self.hits = 0
        self.misses = 0

    def get_many(self, model_id: str, hashes: Sequence[str]) -> dict[str, Matrix]:
        """The stored vectors among ``hashes`` (read-only arrays); absent hashes are left out."""
        wanted = list(dict.fromkeys(hashes))
        found: dict[str, Matrix] = {}
        with self._lock:
            for start in range(0, len(wanted), _MAX_PARAMS):
                part = wanted[start : start + _MAX_PARAMS]
                marks = ",".join("?" * len(part))
                rows = self._conn.execute(
                    f"SELECT hash, vector FROM embeddings WHERE model_id = ? AND hash IN ({marks})",
                    [model_id, *part],
                )
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype="<f4").astype(np.float32, copy=False)
            self.hits += len(found)
            self.misses += len(wanted) - len(found)
        return found

    def put_many(self, model_id: str, items: Iterable[tuple[str, Matrix]]) -> int:
        """Store ``(hash, vector)`` pairs in one transaction; existing keys are kept. Returns rows added."""
        rows = [(model_id, key, np.ascontiguousarray(vector, dtype="<f4").tobytes()) for key, vector in items]
        if not rows:
            return 0
        with self._lock:
            before = self._conn.total_changes
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany("INSERT OR IGNORE INTO embeddings VALUES (?, ?, ?)", rows)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return self._conn.total_changes - before

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()
        return int(count)

    def stats(self) -> CacheStats:
        with self._lock:
            rows = self._conn.execute("SELECT model_id, COUNT(*) FROM embeddings GROUP BY model_id").fetchall()
        models = {str(model): int(count) for model, count in rows}
        return CacheStats(entries=sum(models.values()), models=models, hits=self.hits, misses=self.misses)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
