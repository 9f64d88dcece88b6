"""The PostgreSQL + pgvector adapters: the conformance suites every adapter runs, on a real server."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from quarry.stores.agents import MemoryStore, RunStore
from quarry.stores.base import Store, TraceStore
from quarry.stores.filters import Eq
from quarry.stores.jobs import JobStore
from quarry.stores.keys import KeyStore
from quarry.stores.models import ModelStore
from quarry.stores.ops import ExperimentStore, FeedbackStore, PromptStore
from quarry.stores.postgres import (
    PostgresExperimentStore,
    PostgresFeedbackStore,
    PostgresJobStore,
    PostgresKeyStore,
    PostgresMemoryStore,
    PostgresModelStore,
    PostgresPromptStore,
    PostgresRunStore,
    PostgresStore,
    PostgresTraceStore,
)
from quarry.testing.agent_conformance import AgentStateConformance
from quarry.testing.model_conformance import ModelStoreConformance
from quarry.testing.ops_conformance import OpsConformance
from quarry.testing.state_conformance import JobStoreConformance, KeyStoreConformance
from quarry.testing.store_conformance import EMBEDDER, StoreConformance, make_write
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


def test_a_collection_over_the_threshold_gets_an_hnsw_index_and_filtered_searches_stay_complete(
    postgres_url: str,
) -> None:
    with PostgresStore(postgres_url, ann_threshold=8) as store:
        store.ensure_collection("docs", embedder=EMBEDDER.model_id)
        store.write("docs", upserts=[make_write(f"mem://{i}", [f"otter note {i}"]) for i in range(6)])
        with psycopg.connect(postgres_url) as conn:
            collection_id = conn.execute("SELECT id FROM collections WHERE name = 'docs'").fetchone()[0]
            index = f"chunks_hnsw_{collection_id}"
            assert conn.execute("SELECT to_regclass(%s)", (index,)).fetchone()[0] is None  # 6 chunks: exact
        store.write("docs", upserts=[make_write(f"mem://x{i}", [f"beaver dam {i}"]) for i in range(6)])
        with psycopg.connect(postgres_url) as conn:
            assert conn.execute("SELECT to_regclass(%s)", (index,)).fetchone()[0] is not None
        query = EMBEDDER.embed_query("otter note 3")
        hits = store.search_vector("docs", query, 3)
        assert hits[0].document_uri == "mem://3" and len(hits) == 3
        only = store.search_vector("docs", query, 5, Eq("uri", "mem://x1"))
        assert [h.document_uri for h in only] == ["mem://x1"]


class TestPostgresAgentState(AgentStateConformance):
    @pytest.fixture
    def runs(self, postgres_url: str) -> Iterator[RunStore]:
        store = PostgresRunStore(postgres_url)
        yield store
        store.close()

    @pytest.fixture
    def memory(self, postgres_url: str) -> Iterator[MemoryStore]:
        store = PostgresMemoryStore(postgres_url)
        yield store
        store.close()


class TestPostgresModelStore(ModelStoreConformance):
    @pytest.fixture
    def models(self, postgres_url: str) -> Iterator[ModelStore]:
        store = PostgresModelStore(postgres_url)
        yield store
        store.close()
