"""API keys: scoped, limited to collections, carrying the caller's principals; stored hashed.

A token is ``qk_<id>_<secret>`` (the secret is 32 random bytes, URL-safe). Only the sha256 of the whole
token is stored, in its own SQLite file beside the store (``<store>.keys.db``). Verification looks the
row up by ``id`` and compares the hashes in constant time; a revoked key stops working at once.

Verified keys are remembered in memory (by token hash), so a request costs no row read or JSON
decode. The memory is dropped whenever the file changes: ``PRAGMA data_version`` moves when any
other connection (``quarry keys revoke``, another worker process) commits, and :meth:`KeyStore.revoke`
clears it for this process's own writes. Revocation therefore still takes effect on the next request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from quarry.errors import ConfigError
from quarry.settings import Settings

__all__ = ["SCOPES", "ApiKey", "KeyStore", "Scope", "keys_path"]

Scope = Literal["read", "write", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "write", "admin")
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


@dataclass(frozen=True, slots=True)
class ApiKey:
    """``collections`` empty = every collection; ``principals`` are who the caller is, for access checks."""

    id: str
    scope: Scope
    collections: tuple[str, ...]
    principals: tuple[str, ...]
    note: str = ""
    created_at: float = 0.0
    revoked_at: float | None = None

    def allows(self, scope: Scope) -> bool:
        return SCOPES.index(self.scope) >= SCOPES.index(scope)

    def may_use(self, collection: str) -> bool:
        return not self.collections or collection in self.collections


def keys_path(settings: Settings) -> Path:
    if settings.api.keys_path is not None:
        return settings.api.keys_path
    store = settings.store.path
    return store.with_name(store.stem + ".keys.db")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class KeyStore:
    """Thread-safe: one connection behind a lock (every statement is a point query)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._verified: dict[str, ApiKey] = {}  # token sha256 → live key, valid while data_version holds
        self._version = -1
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)

    def create(
        self, scope: str, *, collections: Sequence[str] = (), principals: Sequence[str] = (), note: str = ""
    ) -> tuple[ApiKey, str]:
        """A new key and its token (shown once: only its hash is kept)."""
        if scope not in SCOPES:
            raise ConfigError(f"unknown scope {scope!r}", key="scope", hint="use read, write or admin")
        key_id = secrets.token_hex(6)
        token = f"qk_{key_id}_{secrets.token_urlsafe(32)}"
        key = ApiKey(key_id, scope, tuple(collections), tuple(sorted(set(principals))), note, time.time())
        with self._lock:
            self._db.execute(
                "INSERT INTO api_keys (id, hash, scope, collections, principals, note, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key.id,
                    _hash(token),
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
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "qk" or len(token) > 200:
            return None
        digest = _hash(token)
        with self._lock:
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:  # another connection wrote (a revocation, maybe): forget everything
                self._verified.clear()
                self._version = version
            known = self._verified.get(digest)
            if known is not None:
                return known
            row = self._db.execute("SELECT * FROM api_keys WHERE id = ?", (parts[1],)).fetchone()
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
