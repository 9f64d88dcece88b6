"""Shared fixtures: paths to the real third-party data, the real local embedding model."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from quarry.embeddings import Embedder, MiniLMEmbedder
from quarry.testing.postgres import new_database, start_server

REPO = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("QUARRY_DATASETS", REPO.parent / "shared" / "datasets"))
MARKITDOWN_FILES = DATASETS / "documents/markitdown/packages/markitdown/tests/test_files"
UNSTRUCTURED_FILES = DATASETS / "documents/unstructured/example-docs"
SCIFACT = DATASETS / "scifact"


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not DATASETS.is_dir():
        pytest.fail(f"the shared datasets are missing at {DATASETS}; set QUARRY_DATASETS")
    return DATASETS


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    """The real packaged embedding model, loaded once per test session."""
    return MiniLMEmbedder()


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no quarry.toml and no QUARRY_* variables from the outside."""
    for key in list(os.environ):
        if key.startswith("QUARRY_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path


_DATABASES = itertools.count()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real PostgreSQL with pgvector for the session (pgserver, or QUARRY_TEST_POSTGRES_URL)."""
    return start_server(Path(tmp_path_factory.mktemp("postgres")))


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """An empty database of its own for one test."""
    return new_database(postgres_server, f"quarry_test_{next(_DATABASES)}")
