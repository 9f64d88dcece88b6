"""SQLite adapter of the model registry (:mod:`quarry.stores.models`), in ``<store>.ops.db``."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from pathlib import Path

from quarry.errors import StoreError
from quarry.stores.models import ModelEntry, ModelMove, entry_body, entry_of, split_id
from quarry.stores.sqlite.ops import OpsDatabase

__all__ = ["SQLiteModelStore"]

_MODELS = """
CREATE TABLE IF NOT EXISTS model_entries (
    target TEXT NOT NULL, version INTEGER NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL,
    created_at REAL NOT NULL, PRIMARY KEY (target, version)
);
CREATE TABLE IF NOT EXISTS model_moves (
    id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, entry TEXT NOT NULL, previous TEXT,
    at REAL NOT NULL, by TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '',
    forced INTEGER NOT NULL DEFAULT 0, rollback INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS model_moves_target ON model_moves(target, id);
"""


def _entry(row: sqlite3.Row) -> ModelEntry:
    return entry_of(row["target"], int(row["version"]), row["status"], float(row["created_at"]), row["body"])


def _move(row: sqlite3.Row) -> ModelMove:
    return ModelMove(row["target"], row["entry"], row["previous"], row["at"], row["by"], row["note"],
                     bool(row["forced"]), bool(row["rollback"]))  # fmt: skip


class SQLiteModelStore(OpsDatabase):
    def __init__(self, path: Path) -> None:
        super().__init__(path, _MODELS)

    def add(self, entry: ModelEntry) -> ModelEntry:
        now = entry.created_at or time.time()
        with self._transaction() as db:
            top = db.execute("SELECT MAX(version) FROM model_entries WHERE target = ?", (entry.target,)).fetchone()[0]
            stored = replace(entry, version=int(top or 0) + 1, created_at=now)
            db.execute(
                "INSERT INTO model_entries (target, version, status, body, created_at) VALUES (?, ?, ?, ?, ?)",
                (stored.target, stored.version, stored.status, entry_body(stored), now),
            )
        return stored

    def get(self, entry_id: str) -> ModelEntry | None:
        try:
            target, version = split_id(entry_id)
        except ValueError:
            return None
        rows = self._rows("SELECT * FROM model_entries WHERE target = ? AND version = ?", (target, version))
        return _entry(rows[0]) if rows else None

    def entries(self, target: str | None = None) -> list[ModelEntry]:
        if target is None:
            return [_entry(r) for r in self._rows("SELECT * FROM model_entries ORDER BY target, version")]
        rows = self._rows("SELECT * FROM model_entries WHERE target = ? ORDER BY version", (target,))
        return [_entry(r) for r in rows]

    def update(self, entry: ModelEntry) -> ModelEntry:
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE model_entries SET status = ?, body = ? WHERE target = ? AND version = ?",
                (entry.status, entry_body(entry), entry.target, entry.version),
            ).rowcount
        if not changed:
            raise StoreError(f"no model entry {entry.id!r}", operation="update_model")
        return entry

    def move(self, target: str, entry_id: str, *, by: str = "", note: str = "", forced: bool = False,
             rollback: bool = False) -> ModelMove:  # fmt: skip
        _, version = split_id(entry_id)
        with self._transaction() as db:
            found = db.execute(
                "SELECT 1 FROM model_entries WHERE target = ? AND version = ?", (target, version)
            ).fetchone()
            if found is None:
                raise StoreError(f"no model entry {entry_id!r} for {target!r}", operation="move_model")
            row = db.execute(
                "SELECT version FROM model_entries WHERE target = ? AND status = 'production'", (target,)
            ).fetchone()
            previous = None if row is None else f"{target}@v{row[0]}"
            db.execute(
                "UPDATE model_entries SET status = 'archived' WHERE target = ? AND status = 'production'", (target,)
            )
            db.execute(
                "UPDATE model_entries SET status = 'production' WHERE target = ? AND version = ?", (target, version)
            )
            move = ModelMove(target, entry_id, previous, time.time(), by, note, forced, rollback)
            db.execute(
                "INSERT INTO model_moves (target, entry, previous, at, by, note, forced, rollback) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (target, entry_id, previous, move.at, by, note, int(forced), int(rollback)),
            )
        return move

    def moves(self, target: str) -> list[ModelMove]:
        return [_move(r) for r in self._rows("SELECT * FROM model_moves WHERE target = ? ORDER BY id DESC", (target,))]
