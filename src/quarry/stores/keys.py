"""API keys: scoped, limited to collections, carrying the caller's principals; stored hashed.

A token is ``qk_<id>_<secret>`` (the secret is 32 random bytes, URL-safe). Only the sha256 of the whole token is
stored; verification looks the row up by ``id`` and compares the hashes in constant time, and a revoked key
stops working at once. :class:`KeyStore` is the seam (the SQLite adapter is
:class:`~quarry.stores.sqlite.api_keys.SQLiteKeyStore`); :func:`new_token`, :func:`token_hash` and
:func:`parse_token` are what every adapter shares, so tokens mean the same on every engine.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from quarry.errors import ConfigError

__all__ = ["SCOPES", "ApiKey", "KeyStore", "Scope", "check_scope", "new_token", "parse_token", "token_hash"]

Scope = Literal["read", "write", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "write", "admin")
_MAX_TOKEN = 200


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


class KeyStore(Protocol):
    """Keys by id; thread-safe. A revocation takes effect for every process on its next verification."""

    def create(
        self, scope: str, *, collections: Sequence[str] = (), principals: Sequence[str] = (), note: str = ""
    ) -> tuple[ApiKey, str]:
        """A new key and its token (shown once: only its hash is kept). ConfigError for an unknown scope."""
        ...

    def verify(self, token: str) -> ApiKey | None:
        """The live key ``token`` belongs to, or ``None`` (unknown, malformed or revoked)."""
        ...

    def list(self) -> list[ApiKey]:
        """Every key, oldest first, revoked ones included (with ``revoked_at``)."""
        ...

    def revoke(self, key_id: str) -> bool:
        """True when a live key was revoked."""
        ...

    def close(self) -> None: ...


def check_scope(scope: str) -> Scope:
    if scope not in SCOPES:
        raise ConfigError(f"unknown scope {scope!r}", key="scope", hint="use read, write or admin")
    return scope


def new_token() -> tuple[str, str]:
    """``(key id, token)`` for a new key."""
    key_id = secrets.token_hex(6)
    return key_id, f"qk_{key_id}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_token(token: str) -> str | None:
    """The key id in ``token``, or None when it is not a well-formed token."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "qk" or len(token) > _MAX_TOKEN:
        return None
    return parts[1]
