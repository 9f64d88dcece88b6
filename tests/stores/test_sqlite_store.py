"""SQLiteStore: the conformance suite plus SQLite-specific behaviour (files, crash safety, FTS)."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from quarry.errors import StoreError
from quarry.stores.agents import MemoryStore, RunStore
from quarry.stores.base import Store, TraceStore
from quarry.stores.filters import Eq
from quarry.stores.jobs import JobStore
from quarry.stores.keys import KeyStore
from quarry.stores.models import ModelStore
from quarry.stores.ops import ExperimentStore, FeedbackStore, PromptStore
from quarry.stores.sqlite import SQLiteJobStore, SQLiteKeyStore, SQLiteStore, SQLiteTraceStore
from quarry.stores.sqlite.agents import SQLiteMemoryStore, SQLiteRunStore
from quarry.stores.sqlite.fts import match_query
from quarry.stores.sqlite.models import SQLiteModelStore
from quarry.stores.sqlite.ops import SQLiteExperimentStore, SQLiteFeedbackStore, SQLitePromptStore
from quarry.stores.sqlite.schema import SCHEMA_VERSION
from quarry.testing.agent_conformance import AgentStateConformance
from quarry.testing.embedders import HashEmbedder
from quarry.testing.model_conformance import ModelStoreConformance
from quarry.testing.ops_conformance import OpsConformance
from quarry.testing.state_conformance import JobStoreConformance, KeyStoreConformance
from quarry.testing.store_conformance import EMBEDDER, StoreConformance, make_write
from quarry.testing.trace_conformance import TraceStoreConformance
from quarry.tracing.spans import Span, Trace


class TestSQLiteTraceStore(TraceStoreConformance):
    @pytest.fixture
    def traces(self, tmp_path: Path) -> Iterator[TraceStore]:
        store = SQLiteTraceStore(tmp_path / "store.traces.db")
        yield store
        store.close()


class TestSQLiteKeyStore(KeyStoreConformance):
    @pytest.fixture
    def keys(self, tmp_path: Path) -> Iterator[KeyStore]:
        store = SQLiteKeyStore(tmp_path / "store.keys.db")
        yield store
        store.close()


class TestSQLiteJobStore(JobStoreConformance):
    @pytest.fixture
    def jobs(self, tmp_path: Path) -> Iterator[JobStore]:
        store = SQLiteJobStore(tmp_path / "store.jobs.db")
        yield store
        store.close()


class TestSQLiteOps(OpsConformance):
    @pytest.fixture
    def prompts(self, tmp_path: Path) -> Iterator[PromptStore]:
        store = SQLitePromptStore(tmp_path / "store.ops.db")
        yield store
        store.close()

    @pytest.fixture
    def experiments(self, tmp_path: Path) -> Iterator[ExperimentStore]:
        store = SQLiteExperimentStore(tmp_path / "store.ops.db")
        yield store
        store.close()

    @pytest.fixture
    def feedback(self, tmp_path: Path) -> Iterator[FeedbackStore]:
        store = SQLiteFeedbackStore(tmp_path / "store.ops.db")
        yield store
        store.close()


class TestSQLiteStore(StoreConformance):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        with SQLiteStore(tmp_path / "store.db") as store:
            yield store

    def changes(self, store: Store) -> int | None:
        assert isinstance(store, SQLiteStore)
        return store.total_changes


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "store.db") as store:
        store.ensure_collection("docs", embedder=EMBEDDER.model_id)
        yield store


def _raw(path: Path) -> closing[sqlite3.Connection]:
    return closing(sqlite3.connect(path, isolation_level=None))


def test_file_settings(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "quarry.db"
    with SQLiteStore(path) as store:
        conn = store._conn()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert path.exists()
    with SQLiteStore(path):  # reopening migrates nothing
        pass


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with _raw(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="version 99"):
        SQLiteStore(path)


def test_reads_open_no_transaction_and_change_no_page(sqlite_store: SQLiteStore) -> None:
    sqlite_store.write("docs", upserts=[make_write("mem://1", ["kiwi fruit"])])
    with _raw(sqlite_store.path) as observer:
        version = observer.execute("PRAGMA data_version").fetchone()[0]
        sqlite_store.search_text("docs", "kiwi", 3, Eq("lang", "en"))
        sqlite_store.search_vector("docs", EMBEDDER.embed_query("kiwi"), 3)
        sqlite_store.source_states("docs")
        sqlite_store.documents("docs")
        assert not sqlite_store._conn().in_transaction
        assert observer.execute("PRAGMA data_version").fetchone()[0] == version
        sqlite_store.write("docs", delete_uris=["mem://1"])
        assert observer.execute("PRAGMA data_version").fetchone()[0] != version


def test_another_connection_s_writes_invalidate_the_vector_cache(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with SQLiteStore(path) as reader, SQLiteStore(path) as writer:
        writer.ensure_collection("docs", embedder=EMBEDDER.model_id)
        writer.write("docs", upserts=[make_write("mem://1", ["red fox"])])
        query = EMBEDDER.embed_query("red panda")
        assert [h.chunk.text for h in reader.search_vector("docs", query, 5)] == ["red fox"]
        writer.write("docs", upserts=[make_write("mem://2", ["red panda"])])
        assert [h.chunk.text for h in reader.search_vector("docs", query, 5)] == ["red panda", "red fox"]
        writer.delete_collection("docs")
        writer.ensure_collection("docs", embedder=EMBEDDER.model_id)
        writer.write("docs", upserts=[make_write("mem://3", ["blue whale"])])
        assert [h.chunk.text for h in reader.search_vector("docs", query, 5)] == ["blue whale"]


def test_stemming_diacritics_and_title(sqlite_store: SQLiteStore) -> None:
    item = make_write("mem://1", ["The runner was running past the café"], title="Marathon handbook")
    sqlite_store.write("docs", upserts=[item])
    for query in ("runs", "cafe", "CAFÉ", "handbook", "intro"):  # "Intro" is the heading
        assert len(sqlite_store.search_text("docs", query, 3)) == 1, query
    assert sqlite_store.search_text("docs", "walking", 3) == []


def test_fts_index_stays_consistent(sqlite_store: SQLiteStore) -> None:
    sqlite_store.write("docs", upserts=[make_write(f"mem://{i}", [f"text {i}", "more"], title="Old") for i in range(5)])
    sqlite_store.write(
        "docs", upserts=[make_write("mem://1", ["new text"], title="New title")], delete_uris=["mem://2"]
    )
    sqlite_store.write("docs", upserts=[make_write("mem://3", ["text 3", "more"], title="Renamed")])
    conn = sqlite_store._conn()
    conn.execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 1)")
    assert sqlite_store.search_text("docs", "old", 10) != []
    assert {h.document_uri for h in sqlite_store.search_text("docs", "renamed title", 10)} == {"mem://1", "mem://3"}
    sqlite_store.delete_collection("docs")
    assert conn.execute("SELECT count(*) FROM chunks_fts").fetchone()[0] == 0
    conn.execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 1)")


def test_filter_keys_are_validated_and_values_bound(sqlite_store: SQLiteStore) -> None:
    sqlite_store.write("docs", upserts=[make_write("mem://1", ["kiwi"], metadata={"lang": "en"})])
    with pytest.raises(StoreError, match="metadata key"):
        sqlite_store.search_text("docs", "kiwi", 3, Eq("lang') OR 1=1 --", "x"))
    assert sqlite_store.search_text("docs", "kiwi", 3, Eq("lang", "x' OR '1'='1")) == []
    assert sqlite_store.search_vector("docs", EMBEDDER.embed_query("kiwi"), 3, Eq("lang", "en")) != []


def test_failure_mid_sql_rolls_back(sqlite_store: SQLiteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from quarry.stores.sqlite import writes

    sqlite_store.write("docs", upserts=[make_write("mem://1", ["original walrus"])])
    original = writes._chunk_row
    calls = iter(range(100))

    def failing(*args: object) -> tuple[object, ...]:
        if next(calls) == 3:
            raise RuntimeError("disk on fire")
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(writes, "_chunk_row", failing)
    upserts = [make_write("mem://1", ["replaced"]), make_write("mem://2", ["a", "b", "c"])]
    with pytest.raises(RuntimeError):
        sqlite_store.write("docs", upserts=upserts)
    assert not sqlite_store._conn().in_transaction
    assert [h.chunk.text for h in sqlite_store.search_text("docs", "walrus replaced a b c", 5)] == ["original walrus"]
    assert sqlite_store.collection("docs").documents == 1


def test_ambiguous_trace_prefix(tmp_path: Path) -> None:
    traces = SQLiteTraceStore(tmp_path / "store.traces.db")
    for trace_id in ("abc1", "abc2"):
        traces.save_trace(Trace(trace_id, "search", Span("q", trace_id, None, time.time())))
    with pytest.raises(StoreError, match="ambiguous"):
        traces.trace("abc")
    record = traces.trace("abc2")
    assert record is not None
    assert record.trace_id == "abc2"
    traces.close()


def test_match_query_quotes_every_word() -> None:
    assert match_query('foo* AND "bar" (baz:qux)') == '"foo" OR "and" OR "bar" OR "baz" OR "qux"'
    assert match_query("🦊 -- ()") is None
    assert match_query("Über über ÜBER") == '"über"'


def test_random_unicode_queries_never_fail(sqlite_store: SQLiteStore) -> None:
    sqlite_store.write("docs", upserts=[make_write("mem://1", ["plain words here"])])
    rng = random.Random(7)
    alphabet = [chr(c) for c in (*range(0x20, 0x7F), *range(0xA0, 0x250), *range(0x300, 0x370), 0x200B, 0x1F98A)]
    for _ in range(300):
        query = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        sqlite_store.search_text("docs", query, 5)


def test_concurrent_threads(sqlite_store: SQLiteStore) -> None:
    sqlite_store.write("docs", upserts=[make_write(f"mem://{i}", [f"heron {i}"]) for i in range(50)])
    errors: list[BaseException] = []

    def search() -> None:
        try:
            for _ in range(30):
                assert len(sqlite_store.search_text("docs", "heron", 5)) == 5
                assert len(sqlite_store.search_vector("docs", EMBEDDER.embed_query("heron"), 5)) == 5
        except BaseException as exc:  # reported below
            errors.append(exc)

    def write() -> None:
        try:
            for i in range(20):
                sqlite_store.write("docs", upserts=[make_write(f"mem://w{i}", [f"heron w{i}"])])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=search) for _ in range(6)] + [threading.Thread(target=write)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sqlite_store.collection("docs").chunks == 70
    opener = threading.Thread(target=sqlite_store._conn)  # a new connection closes finished threads' ones
    opener.start()
    opener.join()
    assert len(sqlite_store._conns) == 2  # this thread's and the opener's


def test_closed_store_refuses_calls(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.db")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.collections()


def test_vector_search_scores_are_cosines(sqlite_store: SQLiteStore) -> None:
    embedder = HashEmbedder(64)
    sqlite_store.write("docs", upserts=[make_write("mem://1", ["alpha beta"])])
    query = embedder.embed_query("Intro alpha beta") * 3.0  # the chunk context includes its heading
    [hit] = sqlite_store.search_vector("docs", query, 1)
    assert hit.score == pytest.approx(1.0, abs=1e-5)
    assert sqlite_store.search_vector("docs", query[np.newaxis, :], 1)[0].chunk == hit.chunk


_CRASHING_WRITER = """
import sys, time
from pathlib import Path
from quarry.stores.sqlite import SQLiteStore, writes
from quarry.testing.store_conformance import make_write

path, marker = sys.argv[1], sys.argv[2]
original, done = writes._upsert, []

def slow_upsert(*args, **kwargs):
    result = original(*args, **kwargs)
    done.append(1)
    if len(done) == 150:  # well inside the transaction, with pages already spilled to the WAL
        Path(marker).write_text("inside")
        time.sleep(120)
    return result

writes._upsert = slow_upsert
store = SQLiteStore(path)
store._conn().execute("PRAGMA cache_size = 5")
paragraphs = ["pelican " + "filler words " * 200] * 4
store.write("docs", upserts=[make_write(f"mem://new/{i}", paragraphs) for i in range(200)], delete_uris=["mem://v1/0"])
"""


def test_sigkill_mid_write_keeps_the_previous_version(tmp_path: Path) -> None:
    path, marker = tmp_path / "store.db", tmp_path / "inside"
    with SQLiteStore(path) as store:
        store.ensure_collection("docs", embedder=EMBEDDER.model_id)
        store.write("docs", upserts=[make_write(f"mem://v1/{i}", [f"walrus {i}"]) for i in range(5)])
    proc = subprocess.Popen(
        [sys.executable, "-c", _CRASHING_WRITER, str(path), str(marker)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "the writer never reached the middle of its transaction"
            time.sleep(0.02)
        assert (tmp_path / "store.db-wal").stat().st_size > 100_000  # uncommitted frames on disk
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    with SQLiteStore(path) as store:
        assert store._conn().execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        store._conn().execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 1)")
        assert sorted(d.uri for d in store.documents("docs")) == [f"mem://v1/{i}" for i in range(5)]
        assert store.search_text("docs", "pelican", 5) == []
        assert len(store.search_text("docs", "walrus", 10)) == 5
        assert len(store.search_vector("docs", EMBEDDER.embed_query("pelican"), 10)) == 5
        store.write("docs", upserts=[make_write("mem://after", ["pelican after crash"])])
        assert len(store.search_text("docs", "pelican", 5)) == 1


class TestSQLiteAgentState(AgentStateConformance):
    @pytest.fixture
    def runs(self, tmp_path: Path) -> Iterator[RunStore]:
        store = SQLiteRunStore(tmp_path / "store.agents.db")
        yield store
        store.close()

    @pytest.fixture
    def memory(self, tmp_path: Path) -> Iterator[MemoryStore]:
        store = SQLiteMemoryStore(tmp_path / "store.agents.db")
        yield store
        store.close()


class TestSQLiteModelStore(ModelStoreConformance):
    @pytest.fixture
    def models(self, tmp_path: Path) -> Iterator[ModelStore]:
        store = SQLiteModelStore(tmp_path / "ops.db")
        yield store
        store.close()
