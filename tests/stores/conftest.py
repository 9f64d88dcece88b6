"""A real PostgreSQL server for the store tests, started once per session (see quarry.testing.postgres)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from quarry.testing.postgres import new_database, start_server

_NUMBERS = itertools.count()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> str:
    return start_server(Path(tmp_path_factory.mktemp("postgres")))


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """An empty database of its own for one test."""
    return new_database(postgres_server, f"quarry_test_{next(_NUMBERS)}")
