"""The HNSW path of SQLiteStore on real data: SciFact abstracts embedded by the real MiniLM.

Two stores open the same file: one always exact (``ann_threshold=0``), one with a low threshold,
so every ANN result can be compared with the exact answer on the same snapshot.
"""

from __future__ import annotations

import gzip
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from quarry.embeddings import Embedder
from quarry.stores.base import DocumentWrite
from quarry.stores.filters import Eq, Filter, In
from quarry.stores.sqlite import SQLiteStore
from quarry.testing.store_data import make_write
from quarry.types import Matrix

DOCS = 200
CHUNKS = 2 * DOCS
WORDS = 40  # per chunk: short chunks keep the real model's embedding time small
THRESHOLD = 100
COLL = "scifact"


def _abstracts(scifact: Path) -> list[tuple[str, str, str]]:
    """(doc id, first half, second half) of the first DOCS SciFact abstracts with two halves."""
    found: list[tuple[str, str, str]] = []
    with gzip.open(scifact / "corpus.jsonl.gz", "rt") as lines:
        for line in lines:
            record = json.loads(line)
            sentences = record["text"].split(". ")
            if len(sentences) >= 2 and len(found) < DOCS:
                half = len(sentences) // 2
                first, second = ". ".join(sentences[:half]), ". ".join(sentences[half:])
                found.append((record["_id"], " ".join(first.split()[:WORDS]), " ".join(second.split()[:WORDS])))
    return found


def _write(embedder: Embedder, uri: str, paragraphs: list[str], metadata: dict[str, object]) -> DocumentWrite:
    item = make_write(uri, paragraphs, metadata=metadata)
    return DocumentWrite(item.document, item.chunks, embedder.embed([c.context for c in item.chunks]))


@pytest.fixture(scope="module")
def corpus_db(tmp_path_factory: pytest.TempPathFactory, datasets: Path, minilm: Embedder) -> Path:
    path = tmp_path_factory.mktemp("ann") / "quarry.db"
    writes = [
        _write(minilm, f"scifact://{doc}", [a, b], {"parity": i % 2, "rare": i < 5})
        for i, (doc, a, b) in enumerate(_abstracts(datasets / "scifact"))
    ]
    with SQLiteStore(path, ann_threshold=0) as store:
        store.ensure_collection(COLL, embedder=minilm.model_id)
        store.write(COLL, upserts=writes)
    return path


@pytest.fixture(scope="module")
def queries(datasets: Path, minilm: Embedder) -> Matrix:
    with gzip.open(datasets / "scifact" / "queries.jsonl.gz", "rt") as lines:
        texts = [json.loads(line)["text"] for _, line in zip(range(40), lines, strict=False)]
    return np.stack([minilm.embed_query(text) for text in texts])


@pytest.fixture
def db(corpus_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "quarry.db"
    shutil.copy(corpus_db, path)
    return path


@pytest.fixture
def stores(db: Path) -> Iterator[tuple[SQLiteStore, SQLiteStore]]:
    """(exact, ann) over the same file."""
    with SQLiteStore(db, ann_threshold=0) as exact, SQLiteStore(db, ann_threshold=THRESHOLD) as ann:
        yield exact, ann


def _keys(store: SQLiteStore, query: Matrix, k: int = 10, where: Filter | None = None) -> list[str]:
    return [key for key, _ in store.rank_vector(COLL, query, k, where)]


def _recall(exact: SQLiteStore, ann: SQLiteStore, queries: Matrix, where: Filter | None = None) -> float:
    found = [len(set(_keys(exact, q, where=where)) & set(_keys(ann, q, where=where))) / 10 for q in queries]
    return float(np.mean(found))


def test_ann_matches_exact_top_10(stores: tuple[SQLiteStore, SQLiteStore], queries: Matrix) -> None:
    exact, ann = stores
    assert ann.build_ann(COLL)
    assert _recall(exact, ann, queries) >= 0.95
    assert ann._ann.counts["ann"] == len(queries)
    assert exact._ann.counts["ann"] == 0
    for query in queries[:5]:  # scores are the exact cosines, best first
        ann_ranked, exact_scores = ann.rank_vector(COLL, query, 10), dict(exact.rank_vector(COLL, query, CHUNKS))
        assert [s for _, s in ann_ranked] == sorted((s for _, s in ann_ranked), reverse=True)
        assert all(score == pytest.approx(exact_scores[key], abs=1e-6) for key, score in ann_ranked)


def test_writes_and_deletes_are_reflected(
    stores: tuple[SQLiteStore, SQLiteStore], queries: Matrix, minilm: Embedder
) -> None:
    exact, ann = stores
    assert ann.build_ann(COLL)
    index = ann._ann._built[COLL].index
    query = queries[0]
    top = ann.search_vector(COLL, query, 1)[0]
    exact.write(COLL, delete_uris=[top.document_uri])  # written through the *other* store
    assert top.document_uri not in {h.document_uri for h in ann.search_vector(COLL, query, 10)}  # exact meanwhile
    assert ann.build_ann(COLL)
    assert ann._ann._built[COLL].index is index  # updated in place, not rebuilt
    used = ann._ann.counts["ann"]
    assert top.document_uri not in {h.document_uri for h in ann.search_vector(COLL, query, 10)}
    assert ann._ann.counts["ann"] == used + 1
    # a new chunk (SQLite reuses the largest deleted rowid: the fingerprint notices the new vector)
    last = max(int(key) for key, _ in exact.rank_vector(COLL, query, 1000))
    [last_hit] = exact.hits(COLL, [(str(last), 0.0)], "dense").values()
    exact.write(COLL, delete_uris=[last_hit.document_uri])
    planted = make_write("mem://planted", ["a planted answer"])
    exact.write(COLL, upserts=[DocumentWrite(planted.document, planted.chunks, query[np.newaxis, :])])
    assert ann.build_ann(COLL)
    [best] = ann.search_vector(COLL, query, 1)
    assert best.document_uri == "mem://planted"
    assert best.score == pytest.approx(1.0, abs=1e-5)
    assert _recall(exact, ann, queries) >= 0.95


@pytest.mark.parametrize(
    "where",
    [Eq("parity", 0), Eq("rare", True), Eq("parity", 7)],
    ids=["half-the-rows", "ten-rows", "no-rows"],
)
def test_filters_return_k_when_k_match(stores: tuple[SQLiteStore, SQLiteStore], queries: Matrix, where: Filter) -> None:
    exact, ann = stores
    assert ann.build_ann(COLL)
    for query in queries:
        expected = _keys(exact, query, where=where)
        found = _keys(ann, query, where=where)
        assert len(found) == len(expected)
        assert len(set(found) & set(expected)) >= 0.8 * len(expected)
    assert len(_keys(ann, queries[0], where=Eq("rare", True))) == 10  # 5 documents, 10 chunks


def test_a_filter_far_from_the_query_widens_then_falls_back(
    stores: tuple[SQLiteStore, SQLiteStore], queries: Matrix
) -> None:
    exact, ann = stores
    assert ann.build_ann(COLL)
    query = queries[1]
    ranked = exact.rank_vector(COLL, query, CHUNKS)
    hits = exact.hits(COLL, ranked, "dense")
    best_of: dict[str, float] = {}
    for key, score in ranked:
        uri = hits[key].document_uri
        best_of[uri] = max(score, best_of.get(uri, -1.0))
    far = sorted(best_of, key=best_of.__getitem__)[:70]  # 140 rows (> THRESHOLD), all ranked last
    where = In("uri", tuple(far))
    assert _keys(ann, query, where=where) == _keys(exact, query, where=where)
    assert (ann._ann.counts["widened"], ann._ann.counts["fallback"]) == (1, 1)


def test_persisted_index_is_reused_after_reopening(db: Path, queries: Matrix) -> None:
    with SQLiteStore(db, ann_threshold=THRESHOLD) as ann:
        assert ann.build_ann(COLL)
        generation = ann.collection(COLL).generation
        expected = [_keys(ann, q) for q in queries]
        [saved] = ann.ann_folder.glob("*.usearch")
    assert saved.name == f"{COLL}.1.{generation}.usearch"
    stamp = saved.stat()
    with SQLiteStore(db, ann_threshold=THRESHOLD) as reopened:
        assert reopened.build_ann(COLL)
        assert [_keys(reopened, q) for q in queries] == expected
        assert reopened._ann.counts["ann"] == len(queries)
    assert (saved.stat().st_ino, saved.stat().st_mtime_ns) == (stamp.st_ino, stamp.st_mtime_ns)  # not rebuilt
    with SQLiteStore(db, ann_threshold=0) as exact:  # another process writes while no index is open
        gone = exact.search_vector(COLL, queries[2], 1)[0].document_uri
        exact.write(COLL, delete_uris=[gone])
        expected = [_keys(exact, q) for q in queries]
    with SQLiteStore(db, ann_threshold=THRESHOLD) as reopened:
        assert reopened.build_ann(COLL)  # the older file, updated
        assert gone not in {h.document_uri for h in reopened.search_vector(COLL, queries[2], 10)}
        found = [_keys(reopened, q) for q in queries]
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, expected, strict=True)]) >= 0.95


def test_threshold_switching(db: Path, queries: Matrix, minilm: Embedder) -> None:
    with SQLiteStore(db, ann_threshold=CHUNKS) as store:  # not above the threshold
        assert not store.build_ann(COLL)
        store.search_vector(COLL, queries[0], 10)
        assert store._ann.counts["ann"] == 0
        assert not store.ann_folder.exists()
        store.write(COLL, upserts=[_write(minilm, "mem://extra", ["one more chunk"], {})])
        assert store.build_ann(COLL)
        store.search_vector(COLL, queries[0], 10)
        assert store._ann.counts["ann"] == 1
    with SQLiteStore(db, ann_threshold=0) as never:
        assert not never.build_ann(COLL)
    with SQLiteStore(db, ann_threshold=-1) as never:
        assert not never.build_ann(COLL)


def test_deleting_the_collection_deletes_its_index(stores: tuple[SQLiteStore, SQLiteStore]) -> None:
    _, ann = stores
    assert ann.build_ann(COLL)
    assert list(ann.ann_folder.glob("*.usearch"))
    ann.delete_collection(COLL)
    assert list(ann.ann_folder.glob("*.usearch")) == []


def test_searches_while_writing(stores: tuple[SQLiteStore, SQLiteStore], queries: Matrix, minilm: Embedder) -> None:
    exact, ann = stores
    assert ann.build_ann(COLL)
    extra = [_write(minilm, f"mem://w{i}", [f"written while searching {i}"], {}) for i in range(10)]
    errors: list[BaseException] = []

    def search() -> None:
        try:
            for query in queries:
                assert len(ann.search_vector(COLL, query, 10)) == 10
                assert len(ann.search_vector(COLL, query, 10, Eq("parity", 1))) == 10
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=search) for _ in range(3)]
    for thread in threads:
        thread.start()
    for item, victim in zip(extra, exact.documents(COLL, limit=len(extra)), strict=True):
        exact.write(COLL, upserts=[item], delete_uris=[victim.uri])
    for thread in threads:
        thread.join()
    assert errors == []
    assert ann.build_ann(COLL)
    assert _recall(exact, ann, queries) >= 0.95
