"""PostgreSQL adapter of the model registry: the same rows as the SQLite adapter, shared by every replica.
Versions are numbered and production moved under a per-target advisory lock."""

from __future__ import annotations

import time
from dataclasses import replace

from quarry.errors import StoreError
from quarry.stores.models import ModelEntry, ModelMove, entry_body, entry_of, split_id
from quarry.stores.postgres.database import Row
from quarry.stores.postgres.state import Adapter

__all__ = ["PostgresModelStore"]


def _entry(row: Row) -> ModelEntry:
    return entry_of(row["target"], int(row["version"]), row["status"], float(row["created_at"]), row["body"])


def _move(row: Row) -> ModelMove:
    return ModelMove(row["target"], row["entry"], row["previous"], row["at"], row["by"], row["note"],
                     bool(row["forced"]), bool(row["rollback"]))  # fmt: skip


class PostgresModelStore(Adapter):
    def add(self, entry: ModelEntry) -> ModelEntry:
        now = entry.created_at or time.time()
        with self.db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('model:' || %s))", (entry.target,))
            row = conn.execute("SELECT max(version) AS top FROM model_entries WHERE target = %s", (entry.target,))
            top = row.fetchone()
            stored = replace(entry, version=int((top or {}).get("top") or 0) + 1, created_at=now)
            conn.execute(
                "INSERT INTO model_entries (target, version, status, body, created_at) VALUES (%s, %s, %s, %s, %s)",
                (stored.target, stored.version, stored.status, entry_body(stored), now),
            )
        return stored

    def get(self, entry_id: str) -> ModelEntry | None:
        try:
            target, version = split_id(entry_id)
        except ValueError:
            return None
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM model_entries WHERE target = %s AND version = %s", (target, version)
            ).fetchone()
        return None if row is None else _entry(row)

    def entries(self, target: str | None = None) -> list[ModelEntry]:
        with self.db.transaction() as conn:
            if target is None:
                rows = conn.execute('SELECT * FROM model_entries ORDER BY target COLLATE "C", version').fetchall()
            else:
                rows = conn.execute(
                    "SELECT * FROM model_entries WHERE target = %s ORDER BY version", (target,)
                ).fetchall()
        return [_entry(r) for r in rows]

    def update(self, entry: ModelEntry) -> ModelEntry:
        with self.db.transaction() as conn:
            changed = conn.execute(
                "UPDATE model_entries SET status = %s, body = %s WHERE target = %s AND version = %s",
                (entry.status, entry_body(entry), entry.target, entry.version),
            ).rowcount
        if not changed:
            raise StoreError(f"no model entry {entry.id!r}", operation="update_model")
        return entry

    def move(self, target: str, entry_id: str, *, by: str = "", note: str = "", forced: bool = False,
             rollback: bool = False) -> ModelMove:  # fmt: skip
        _, version = split_id(entry_id)
        with self.db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('model:' || %s))", (target,))
            found = conn.execute(
                "SELECT 1 FROM model_entries WHERE target = %s AND version = %s", (target, version)
            ).fetchone()
            if found is None:
                raise StoreError(f"no model entry {entry_id!r} for {target!r}", operation="move_model")
            row = conn.execute(
                "SELECT version FROM model_entries WHERE target = %s AND status = 'production'", (target,)
            ).fetchone()
            previous = None if row is None else f"{target}@v{row['version']}"
            conn.execute(
                "UPDATE model_entries SET status = 'archived' WHERE target = %s AND status = 'production'", (target,)
            )
            conn.execute(
                "UPDATE model_entries SET status = 'production' WHERE target = %s AND version = %s", (target, version)
            )
            move = ModelMove(target, entry_id, previous, time.time(), by, note, forced, rollback)
            conn.execute(
                "INSERT INTO model_moves (target, entry, previous, at, by, note, forced, rollback) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (target, entry_id, previous, move.at, by, note, forced, rollback),
            )
        return move

    def moves(self, target: str) -> list[ModelMove]:
        with self.db.transaction() as conn:
            rows = conn.execute("SELECT * FROM model_moves WHERE target = %s ORDER BY id DESC", (target,)).fetchall()
        return [_move(r) for r in rows]
