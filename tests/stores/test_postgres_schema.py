"""PostgreSQL schema versions: an empty database gets the schema on first use; an older one is refused until
`quarry db upgrade` applies what is missing; a newer one is refused with a hint to upgrade Quarry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from quarry.errors import StoreError
from quarry.stores.postgres import PostgresStore
from quarry.stores.postgres.migrations import MIGRATIONS, SCHEMA_VERSION, schema_version, upgrade


def _quarry(cwd: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")} | {"QUARRY_STORE__URL": url}
    return subprocess.run([sys.executable, "-m", "quarry", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def test_an_empty_database_gets_the_whole_schema(postgres_url: str) -> None:
    with PostgresStore(postgres_url) as store:
        assert store.collections() == []
    with psycopg.connect(postgres_url) as conn:
        assert schema_version(conn) == SCHEMA_VERSION == len(MIGRATIONS) >= 2


def test_an_older_database_is_refused_until_db_upgrade(postgres_url: str, tmp_path: Path) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        assert [m.version for m in upgrade(conn, target=1)] == [1]
    with pytest.raises(StoreError, match=f"schema is version 1, this Quarry needs {SCHEMA_VERSION}") as caught:
        PostgresStore(postgres_url)
    assert "quarry db upgrade" in caught.value.hint
    status = _quarry(tmp_path, postgres_url, "db", "status", "--json")
    assert status.returncode == 1, status.stderr
    assert json.loads(status.stdout)["pending"] == [f"{m.version:04d}_{m.name}" for m in MIGRATIONS[1:]]
    done = _quarry(tmp_path, postgres_url, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert f"applied {MIGRATIONS[1].version:04d}_{MIGRATIONS[1].name}" in done.stdout and "up to date" in done.stdout
    assert _quarry(tmp_path, postgres_url, "db", "upgrade").stdout.count("applied") == 0  # idempotent
    assert _quarry(tmp_path, postgres_url, "db", "status").returncode == 0
    with PostgresStore(postgres_url) as store:
        store.ensure_collection("docs", embedder="e")
        assert [c.name for c in store.collections()] == ["docs"]


def test_a_newer_database_is_refused(postgres_url: str) -> None:
    PostgresStore(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("INSERT INTO quarry_schema (version, name) VALUES (%s, 'from_the_future')", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer than this Quarry") as caught:
        PostgresStore(postgres_url)
    assert "upgrade Quarry" in caught.value.hint


def test_sqlite_db_status_and_upgrade(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")}
    run = [sys.executable, "-m", "quarry", "db"]
    first = subprocess.run([*run, "status"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0 and "none (empty)" in first.stdout
    up = subprocess.run([*run, "upgrade"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert up.returncode == 0, up.stderr
    assert "up to date" in up.stdout and (tmp_path / ".quarry" / "quarry.db").is_file()
