"""The answer cache in a SQLite file beside the store (the default backend).

One row per stored answer (exact key, collection, generation, question, float32 vector, payload, time) and two
counters. Writing an entry for a collection deletes that collection's rows of older generations, so an edit,
delete or re-ingest frees the space of the answers it made stale (they could no longer be served anyway: the
generation is part of the key). At most ``max_entries_per_key`` answers are kept per key, newest first.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np

from quarry.cache.semantic import CacheCounts, Entry
from quarry.sqlite_wal import use_wal

__all__ = ["SQLiteAnswerCache"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    collection TEXT NOT NULL,
    generation INTEGER NOT NULL,
    question TEXT NOT NULL,
    vector BLOB NOT NULL,
    payload BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_key ON answers (key, created);
CREATE INDEX IF NOT EXISTS answers_collection ON answers (collection, generation);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class SQLiteAnswerCache:
    name = "sqlite"

    def __init__(self, path: Path, *, max_entries_per_key: int = 8) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.max_entries_per_key = path, max_entries_per_key
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30.0)
        use_wal(self._db, timeout_s=30.0)
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def entries(self, key: str) -> list[Entry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT question, vector, payload, created FROM answers WHERE key = ? ORDER BY created DESC", (key,)
            ).fetchall()
        return [Entry(q, np.frombuffer(v, dtype=np.float32), bytes(p), c) for q, v, p, c in rows]

    def put(self, key: str, collection: str, generation: int, entry: Entry) -> None:
        vector = np.asarray(entry.vector, dtype=np.float32).tobytes()
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM answers WHERE collection = ? AND generation < ?", (collection, generation))
            self._db.execute(
                "INSERT INTO answers (key, collection, generation, question, vector, payload, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, collection, generation, entry.question, vector, entry.payload, entry.created),
            )
            self._db.execute(
                "DELETE FROM answers WHERE key = ? AND id NOT IN "
                "(SELECT id FROM answers WHERE key = ? ORDER BY created DESC LIMIT ?)",
                (key, key, self.max_entries_per_key),
            )

    def count(self, hit: bool) -> None:
        name = "hits" if hit else "misses"
        with self._lock:
            self._db.execute(
                "INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = value + 1",
                (name,),
            )

    def counts(self) -> CacheCounts:
        with self._lock:
            per = dict(self._db.execute("SELECT collection, COUNT(*) FROM answers GROUP BY collection").fetchall())
            size = self._db.execute("SELECT COALESCE(SUM(LENGTH(payload) + LENGTH(vector)), 0) FROM answers")
            total = int(size.fetchone()[0])
            counters = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
        return CacheCounts(sum(per.values()), total, counters.get("hits", 0), counters.get("misses", 0), per)

    def clear(self, collection: str | None = None) -> int:
        with self._lock:
            if collection is None:
                dropped = self._db.execute("DELETE FROM answers").rowcount
                self._db.execute("DELETE FROM counters")
            else:
                dropped = self._db.execute("DELETE FROM answers WHERE collection = ?", (collection,)).rowcount
        return int(dropped)

    def close(self) -> None:
        with self._lock:
            self._db.close()
