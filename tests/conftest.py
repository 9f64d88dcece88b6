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


# The files that take longest (seconds on 2 cores, `pytest --durations`), started first: `make test` runs two
# workers that each take whole files, and the run ends when the later worker does. Order within a file is kept.
_LONGEST_FIRST = (
    "cli/test_cli.py",
    "pipeline/test_crash.py",
    "agents/test_agent_cli.py",
    "generation/test_registry.py",
    "tuning/test_lora.py",
    "cli/test_walkthrough.py",
    "api/test_server.py",
    "tuning/test_registry.py",
    "pipeline/test_ray.py",
    "console/test_console.py",
    "pipeline/test_sync.py",
    "generation/test_end_to_end.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.path.relative_to(REPO / "tests").as_posix()
        return _LONGEST_FIRST.index(path) if path in _LONGEST_FIRST else len(_LONGEST_FIRST)

    items.sort(key=rank)


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
