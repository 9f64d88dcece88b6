"""A real PostgreSQL server for tests and local trials: ``pgserver`` (PostgreSQL 18 with pgvector, shipped as a
Python package; no root, no download), or the server named by ``QUARRY_TEST_POSTGRES_URL``.

    url = start_server(tmp_path / "pg")          # a running server's DSN (an admin connection)
    fresh = new_database(url, "case_1")          # an empty database on it, for one test
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

import psycopg

__all__ = ["new_database", "start_server"]

_SERVERS: dict[Path, Any] = {}  # kept alive for the process (pgserver stops a server when its handle goes)


def start_server(folder: Path) -> str:
    """The DSN of a running server: ``QUARRY_TEST_POSTGRES_URL`` if set, else a pgserver in ``folder``."""
    external = os.environ.get("QUARRY_TEST_POSTGRES_URL")
    if external:
        return external
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI)
        warnings.simplefilter("ignore")
        import pgserver  # the dev extra

    folder.mkdir(parents=True, exist_ok=True)
    server = _SERVERS.get(folder) or pgserver.get_server(folder, cleanup_mode="stop")  # type: ignore[attr-defined]
    _SERVERS[folder] = server
    return str(server.get_uri())


def new_database(url: str, name: str) -> str:
    """Create an empty database ``name`` (dropped first if it exists) on the server of ``url``; its DSN."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"database name {name!r}: use lower-case letters, digits and _")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return _with_database(url, name)


def _with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` (pgserver's DSNs put the socket folder in the query string)."""
    head, _, query = url.partition("?")
    scheme, _, rest = head.partition("://")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{name}" + (f"?{query}" if query else "")
