"""The PostgreSQL + pgvector adapters: the conformance suites every adapter runs, on a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from quarry.stores.base import Store, TraceStore
from quarry.stores.jobs import JobStore
from quarry.stores.keys import KeyStore
from quarry.stores.ops import ExperimentStore, FeedbackStore, PromptStore
from quarry.stores.postgres import (
    PostgresExperimentStore,
    PostgresFeedbackStore,
    PostgresJobStore,
    PostgresKeyStore,
    PostgresPromptStore,
    PostgresStore,
    PostgresTraceStore,
)
from quarry.testing.ops_conformance import OpsConformance
from quarry.testing.state_conformance import JobStoreConformance, KeyStoreConformance
from quarry.testing.store_conformance import StoreConformance
from quarry.testing.trace_conformance import TraceStoreConformance


class TestPostgresStore(StoreConformance):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[Store]:
        with PostgresStore(postgres_url) as store:
            yield store

    def changes(self, store: Store) -> int | None:
        assert isinstance(store, PostgresStore)
        return store.total_changes


class TestPostgresTraceStore(TraceStoreConformance):
    @pytest.fixture
    def traces(self, postgres_url: str) -> Iterator[TraceStore]:
        store = PostgresTraceStore(postgres_url)
        yield store
        store.close()


class TestPostgresKeyStore(KeyStoreConformance):
    @pytest.fixture
    def keys(self, postgres_url: str) -> Iterator[KeyStore]:
        store = PostgresKeyStore(postgres_url)
        yield store
        store.close()


class TestPostgresJobStore(JobStoreConformance):
    @pytest.fixture
    def jobs(self, postgres_url: str) -> Iterator[JobStore]:
        store = PostgresJobStore(postgres_url)
        yield store
        store.close()


class TestPostgresOps(OpsConformance):
    @pytest.fixture
    def prompts(self, postgres_url: str) -> Iterator[PromptStore]:
        store = PostgresPromptStore(postgres_url)
        yield store
        store.close()

    @pytest.fixture
    def experiments(self, postgres_url: str) -> Iterator[ExperimentStore]:
        store = PostgresExperimentStore(postgres_url)
        yield store
        store.close()

    @pytest.fixture
    def feedback(self, postgres_url: str) -> Iterator[FeedbackStore]:
        store = PostgresFeedbackStore(postgres_url)
        yield store
        store.close()
