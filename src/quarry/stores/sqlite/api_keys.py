"""API keys in their own SQLite file beside the store (``<store>.keys.db``): the :class:`KeyStore` adapter.

Verified keys are remembered in memory (by token hash), so a request costs no row read or JSON
decode. The memory is dropped whenever the file changes: ``PRAGMA data_version`` moves when any
other connection (``quarry keys revoke``, another worker process) commits, and :meth:`SQLiteKeyStore.revoke`
clears it for this process's own writes. Revocation therefore still takes effect on the next request.
"""

from __future__ import annotations

import hmac
import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from quarry.sqlite_wal import use_wal
from quarry.stores.keys import ApiKey, check_scope, new_token, parse_token, token_hash

__all__ = ["SQLiteKeyStore"]

MAX_REMEMBERED = 10_000  # verified tokens kept in memory

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id          TEXT PRIMARY KEY,
    hash        TEXT NOT NULL,
    scope       TEXT NOT NULL,
    collections TEXT NOT NULL,
    principals  TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    created_at  REAL NOT NULL,
    revoked_at  REAL
)
"""


class SQLiteKeyStore:
    """Thread-safe: one connection behind a lock (every statement is a point query)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._verified: dict[str, ApiKey] = {}  # token sha256 → live key, valid while data_version holds
        self._version = -1
        with self._lock:
            use_wal(self._db)
            self._db.execute(_SCHEMA)

    def create(
        self, scope: str, *, collections: Sequence[str] = (), principals: Sequence[str] = (), note: str = ""
    ) -> tuple[ApiKey, str]:
        """A new key and its token (shown once: only its hash is kept)."""
        key_id, token = new_token()
        key = ApiKey(key_id, check_scope(scope), tuple(collections), tuple(sorted(set(principals))), note, time.time())
        with self._lock:
            self._db.execute(
                "INSERT INTO api_keys (id, hash, scope, collections, principals, note, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key.id,
                    token_hash(token),
                    key.scope,
                    json.dumps(key.collections),
                    json.dumps(key.principals),
                    note,
                    key.created_at,
                ),
            )
        return key, token

    def verify(self, token: str) -> ApiKey | None:
        """The live key ``token`` belongs to, or ``None`` (unknown, malformed or revoked)."""
        key_id = parse_token(token)
        if key_id is None:
            return None
        digest = token_hash(token)
        with self._lock:
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:  # another connection wrote (a revocation, maybe): forget everything
                self._verified.clear()
                self._version = version
            known = self._verified.get(digest)
            if known is not None:
                return known
            row = self._db.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
            if row is None or not hmac.compare_digest(row["hash"], digest) or row["revoked_at"] is not None:
                return None
            key = _key(row)
            if len(self._verified) >= MAX_REMEMBERED:
                self._verified.clear()
            self._verified[digest] = key
            return key

    def list(self) -> list[ApiKey]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM api_keys ORDER BY created_at").fetchall()
        return [_key(row) for row in rows]

    def revoke(self, key_id: str) -> bool:
        """True when a live key was revoked."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (time.time(), key_id)
            )
            self._verified.clear()
        return cursor.rowcount > 0

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _key(row: sqlite3.Row) -> ApiKey:
    return ApiKey(
        id=row["id"],
        scope=row["scope"],
        collections=tuple(json.loads(row["collections"])),
        principals=tuple(json.loads(row["principals"])),
        note=row["note"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )
