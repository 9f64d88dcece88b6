"""Reusable conformance suites for the knowledge-base store protocols (:mod:`quarry.stores.base`).

One mixin per capability — :class:`CollectionConformance`, :class:`DocumentConformance` and
:class:`~quarry.testing.store_search_conformance.SearchConformance` — and :class:`StoreConformance`, which
runs all three plus the checks that span them. Subclass in an adapter's tests and override the ``store``
fixture::

    class TestMyStore(StoreConformance):
        @pytest.fixture
        def store(self, tmp_path: Path) -> Iterator[Store]:
            with MyStore(tmp_path / "db") as s:
                yield s

Override :meth:`StoreBasics.changes` to enable the "reads write nothing" check. Vectors come from
:class:`~quarry.testing.embedders.HashEmbedder`, so results never depend on a model. Traces, API keys and jobs
have their own suites (:mod:`quarry.testing.trace_conformance`, :mod:`quarry.testing.state_conformance`).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from quarry.errors import CollectionNotFound, StoreError
from quarry.stores.base import SourceState, Store
from quarry.stores.checks import StaleSwap
from quarry.stores.filters import Eq
from quarry.testing.store_data import (
    EMBEDDER,
    HOSTILE_QUERIES,
    make_write,
    texts,
)
from quarry.testing.store_search_conformance import SearchConformance

__all__ = [
    "EMBEDDER",
    "HOSTILE_QUERIES",
    "CollectionConformance",
    "DocumentConformance",
    "StoreConformance",
    "make_write",
]


class StoreBasics:
    """The fixtures every knowledge-base suite shares."""

    collection_name: ClassVar[str] = "docs"

    @pytest.fixture
    def store(self) -> Store:
        """Override with a fixture yielding a fresh, empty store (and closing it afterwards)."""
        raise NotImplementedError("override the `store` fixture in your StoreConformance subclass")

    @pytest.fixture
    def coll(self, store: Store) -> str:
        store.ensure_collection(self.collection_name, embedder=EMBEDDER.model_id)
        return self.collection_name

    def changes(self, store: Store) -> int | None:
        """A counter of rows written by ``store`` (``None``: the adapter cannot tell; check skipped)."""
        return None


class CollectionConformance(StoreBasics):
    """Collections: named namespaces, each bound to the embedder it was built with."""

    def test_ensure_collection_is_idempotent(self, store: Store) -> None:
        info = store.ensure_collection("notes", embedder="e1", description="my notes")
        again = store.ensure_collection("notes", embedder="e1")
        assert (info.name, info.embedder, info.documents, info.chunks) == ("notes", "e1", 0, 0)
        assert again == info
        assert [c.name for c in store.collections()] == ["notes"]

    def test_ensure_collection_rejects_another_embedder(self, store: Store) -> None:
        store.ensure_collection("notes", embedder="e1")
        with pytest.raises(StoreError) as caught:
            store.ensure_collection("notes", embedder="e2")
        assert caught.value.hint

    @pytest.mark.parametrize("name", ["", "-x", "a b", "../etc", "x" * 65, "naïve", "a/b"])
    def test_invalid_collection_names(self, store: Store, name: str) -> None:
        with pytest.raises(StoreError):
            store.ensure_collection(name, embedder="e1")

    def test_missing_collection(self, store: Store) -> None:
        with pytest.raises(CollectionNotFound):
            store.collection("nope")
        with pytest.raises(CollectionNotFound):
            store.write("nope", upserts=[make_write("mem://1", ["hello"])])
        with pytest.raises(CollectionNotFound):
            store.search_text("nope", "hello", 3)
        with pytest.raises(CollectionNotFound):
            store.search_vector("nope", EMBEDDER.embed_query("hello"), 3)

    def test_collections_are_isolated(self, store: Store) -> None:
        for name, word in (("one", "walrus"), ("two", "pelican")):
            store.ensure_collection(name, embedder=EMBEDDER.model_id)
            store.write(name, upserts=[make_write("mem://same", [f"the {word} sings"])])
        doc = store.document("one", "mem://same")
        assert doc is not None
        assert doc.text == "the walrus sings"
        assert store.search_text("one", "pelican", 5) == []
        assert texts(store.search_vector("one", EMBEDDER.embed_query("pelican"), 5)) == ["the walrus sings"]
        store.write("one", delete_uris=["mem://same"])
        assert store.document("one", "mem://same") is None
        assert texts(store.search_text("two", "pelican", 5)) == ["the pelican sings"]
        assert store.collection("two").chunks == 1

    def test_swap_collections_exchanges_everything_in_one_step(self, store: Store, coll: str) -> None:
        store.write(coll, upserts=[make_write("mem://old", ["walrus tusks"])], states=[SourceState("mem://old", "h1")])
        shadow = f"{coll}~shadow-2"
        store.ensure_collection(shadow, embedder="other-model")
        store.write(
            shadow, upserts=[make_write("mem://new", ["pelican beaks"])], states=[SourceState("mem://new", "h2")]
        )
        assert [c.name for c in store.collections()] == [coll]  # shadow and kept indexes are not listed
        before = store.collection(coll).generation
        store.search_text(coll, "walrus", 3)  # warm any per-collection caches of the live name
        store.search_vector(coll, EMBEDDER.embed_query("walrus tusks"), 3)
        store.swap_collections(coll, shadow, expected_generation=before)
        live, kept = store.collection(coll), store.collection(shadow)
        assert (live.embedder, kept.embedder) == ("other-model", EMBEDDER.model_id)
        assert live.generation > before
        assert kept.generation > before
        assert texts(store.search_text(coll, "pelican", 3)) == ["pelican beaks"]
        assert store.search_text(coll, "walrus", 3) == []
        assert texts(store.search_vector(coll, EMBEDDER.embed_query("pelican beaks"), 3)) == ["pelican beaks"]
        assert list(store.source_states(coll)) == ["mem://new"]
        assert texts(store.search_text(shadow, "walrus", 3)) == ["walrus tusks"]
        assert store.document(shadow, "mem://old") is not None
        assert store.document(coll, "mem://old") is None

    def test_swap_refuses_a_live_collection_that_changed(self, store: Store, coll: str) -> None:
        shadow = f"{coll}~shadow-1"
        store.ensure_collection(shadow, embedder="other-model")
        seen = store.collection(coll).generation
        store.write(coll, upserts=[make_write("mem://late", ["a late write"])])
        with pytest.raises(StaleSwap):
            store.swap_collections(coll, shadow, expected_generation=seen)
        assert store.collection(coll).embedder == EMBEDDER.model_id  # nothing moved
        with pytest.raises(CollectionNotFound):
            store.swap_collections(coll, f"{coll}~shadow-9")

    def test_delete_collection(self, store: Store, coll: str) -> None:
        store.write(coll, upserts=[make_write("mem://1", ["zebra stripes"])], states=[SourceState("mem://1", "h")])
        store.delete_collection(coll)
        with pytest.raises(CollectionNotFound):
            store.collection(coll)
        store.ensure_collection(coll, embedder=EMBEDDER.model_id)
        assert store.search_text(coll, "zebra", 5) == []
        assert store.search_vector(coll, EMBEDDER.embed_query("zebra stripes"), 5) == []
        assert store.source_states(coll) == {}


class DocumentConformance(StoreBasics):
    """Documents: the atomic write, versions, deletions, ingestion state, reads."""

    def test_upsert_replaces_chunks_in_both_indexes(self, store: Store, coll: str) -> None:
        other = make_write("mem://other", ["a quiet harbour at dawn"])
        store.write(coll, upserts=[make_write("mem://doc", ["zebra giraffe savanna", "lion pride"]), other])
        assert texts(store.search_text(coll, "zebra", 5)) == ["zebra giraffe savanna"]
        store.write(coll, upserts=[make_write("mem://doc", ["quantum photon laser"])])
        assert store.search_text(coll, "zebra giraffe lion", 5) == []
        dense = store.search_vector(coll, EMBEDDER.embed_query("zebra giraffe savanna"), 10)
        assert sorted(texts(dense)) == ["a quiet harbour at dawn", "quantum photon laser"]
        assert [c.text for c in store.chunks(coll, "mem://doc")] == ["quantum photon laser"]
        assert store.collection(coll).chunks == 2

    def test_delete_uris(self, store: Store, coll: str) -> None:
        store.write(coll, upserts=[make_write("mem://1", ["red fox"]), make_write("mem://2", ["red panda"])])
        store.write(coll, delete_uris=["mem://1", "mem://never-stored"])
        assert texts(store.search_text(coll, "red", 5)) == ["red panda"]
        assert texts(store.search_vector(coll, EMBEDDER.embed_query("red fox"), 5)) == ["red panda"]
        assert [d.uri for d in store.documents(coll)] == ["mem://2"]

    def test_delete_sources(self, store: Store, coll: str) -> None:
        writes = [
            make_write(f"mem://{s}#{i}", [f"row {s} {i} owl"], source_uri=f"mem://{s}") for s in "ab" for i in (1, 2)
        ]
        states = [SourceState("mem://a", "ha", documents=2), SourceState("mem://b", "hb", documents=2)]
        store.write(coll, upserts=writes, states=states)
        store.write(coll, delete_sources=["mem://a"])
        assert sorted(store.source_states(coll)) == ["mem://b"]
        assert sorted(d.uri for d in store.documents(coll)) == ["mem://b#1", "mem://b#2"]
        assert {h.document_uri for h in store.search_text(coll, "owl", 10)} == {"mem://b#1", "mem://b#2"}
        assert len(store.search_vector(coll, EMBEDDER.embed_query("owl"), 10)) == 2

    def test_write_is_atomic(self, store: Store, coll: str) -> None:
        store.write(coll, upserts=[make_write("mem://kept", ["original walrus text"])])
        bad = make_write("mem://bad", ["one", "two"], vectors=np.zeros((1, 64), dtype=np.float32))
        with pytest.raises(StoreError):
            store.write(
                coll,
                upserts=[make_write("mem://new", ["fresh pelican"]), make_write("mem://kept", ["changed"]), bad],
                delete_uris=["mem://kept"],
                states=[SourceState("mem://new", "h")],
            )
        assert store.document(coll, "mem://new") is None
        assert store.source_states(coll) == {}
        assert store.search_text(coll, "pelican changed", 5) == []
        assert texts(store.search_text(coll, "walrus", 5)) == ["original walrus text"]
        assert texts(store.search_vector(coll, EMBEDDER.embed_query("pelican"), 5)) == ["original walrus text"]

    def test_vector_dimension_is_fixed_by_first_write(self, store: Store, coll: str) -> None:
        store.write(coll, upserts=[make_write("mem://1", ["hello"])])
        other = np.ones((1, 32), dtype=np.float32) / np.sqrt(32)
        with pytest.raises(StoreError):
            store.write(coll, upserts=[make_write("mem://2", ["world"], vectors=other)])
        with pytest.raises(StoreError):
            store.search_vector(coll, other[0], 3)

    def test_documents_and_chunks_round_trip(self, store: Store, coll: str) -> None:
        item = make_write("mem://1", ["first part", "second part"], title="T", metadata={"lang": "en", "n": 2})
        store.write(coll, upserts=[item])
        assert store.document(coll, "mem://1") == item.document
        assert store.document(coll, "mem://missing") is None
        assert store.chunks(coll, "mem://1") == list(item.chunks)
        [info] = store.documents(coll)
        assert (info.id, info.chunks, info.title, info.text_hash) == (item.document.id, 2, "T", item.document.text_hash)
        assert dict(info.metadata) == {"lang": "en", "n": 2}
        hit = store.search_text(coll, "second", 1)[0]
        assert (hit.chunk, hit.document_uri, hit.title, hit.retriever) == (item.chunks[1], "mem://1", "T", "bm25")
        assert dict(hit.metadata) == {"lang": "en", "n": 2}
        assert store.search_vector(coll, EMBEDDER.embed_query("first part"), 1)[0].retriever == "dense"

    def test_duplicates_and_hashes(self, store: Store, coll: str) -> None:
        original = make_write("mem://1", ["same text"], source_uri="mem://src")
        copy = make_write("mem://2", ["same text"], source_uri="mem://src", duplicate_of="mem://1")
        store.write(coll, upserts=[copy, original])
        assert store.find_text_hash(coll, original.document.text_hash) == "mem://1"
        assert store.find_text_hash(coll, "0" * 64) is None
        assert store.document_hashes(coll, "mem://src") == {"mem://1": original.document.text_hash} | {
            "mem://2": original.document.text_hash
        }
        infos = {d.uri: d for d in store.documents(coll)}
        assert (infos["mem://2"].duplicate_of, infos["mem://2"].chunks) == ("mem://1", 0)
        assert len(store.search_text(coll, "same", 10)) == 1

    def test_source_states_prefix(self, store: Store, coll: str) -> None:
        uris = ["file:///a/x.md", "file:///a/y.md", "file:///ab/z.md", "https://h/p"]
        states = [
            SourceState(u, f"h{i}", status="failed" if i == 3 else "ok", error="boom" * (i == 3))
            for i, u in enumerate(uris)
        ]
        store.write(coll, states=states)
        assert sorted(store.source_states(coll, "file:///a/")) == uris[:2]
        assert sorted(store.source_states(coll)) == uris
        failed = store.source_states(coll, "https://")["https://h/p"]
        assert (failed.raw_hash, failed.status, failed.error) == ("h3", "failed", "boom")
        store.write(coll, states=[SourceState("https://h/p", "h4")])
        assert store.source_states(coll, "https://")["https://h/p"].status == "ok"

    def test_generation_changes_only_with_content(self, store: Store, coll: str) -> None:
        generations = [store.collection(coll).generation]

        def changed() -> bool:
            generations.append(store.collection(coll).generation)
            return generations[-1] != generations[-2]

        store.write(coll, upserts=[make_write("mem://1", ["kiwi"]), make_write("mem://2", ["fig"])])
        assert changed()
        store.write(coll)
        store.write(coll, delete_uris=["mem://never-stored"], delete_sources=["mem://nothing"])
        store.search_vector(coll, EMBEDDER.embed_query("kiwi"), 3)
        store.ensure_collection(coll, embedder=EMBEDDER.model_id)
        assert not changed()
        store.write(coll, upserts=[make_write("mem://1", ["kiwi and lime"])])
        assert changed()
        store.write(coll, delete_uris=["mem://2"])
        assert changed()
        assert [c.generation for c in store.collections()] == [generations[-1]]
        store.delete_collection(coll)
        store.ensure_collection(coll, embedder=EMBEDDER.model_id)
        store.write(coll, upserts=[make_write("mem://1", ["kiwi"]), make_write("mem://2", ["fig"])])
        assert generations.count(store.collection(coll).generation) == 0  # a cache of the old one stays stale

    def test_vectors_of_ranked_keys(self, store: Store, coll: str) -> None:
        store.write(coll, upserts=[make_write(f"mem://{i}", [f"otter {i}", f"beaver dam {i}"]) for i in range(3)])
        query = EMBEDDER.embed_query("otter beaver")
        ranked = store.rank_vector(coll, query * 2.0, 6)
        keys = [key for key, _ in ranked]
        rows = store.vectors(coll, keys)
        assert rows.shape == (6, 64)
        assert np.linalg.norm(rows, axis=1) == pytest.approx(np.ones(6), abs=1e-5)
        assert rows @ query == pytest.approx([score for _, score in ranked], abs=1e-5)
        hits = store.hits(coll, ranked, "dense")
        for key, row in zip(keys, rows, strict=True):
            expected = EMBEDDER.embed([hits[key].chunk.context])[0]
            assert row == pytest.approx(expected, abs=1e-6)
        gone = {h.document_uri for h in hits.values()} - {"mem://0", "mem://1"}
        store.write(coll, delete_uris=sorted(gone))
        after = store.vectors(coll, [*keys, "not-a-key", "-1"])
        for i, key in enumerate(keys):
            assert (not after[i].any()) == (hits[key].document_uri in gone)
        assert not after[6:].any()
        assert store.vectors(coll, []).shape == (0, 64)
        with pytest.raises(CollectionNotFound):
            store.vectors("nope", keys)


class StoreConformance(CollectionConformance, DocumentConformance, SearchConformance):
    """Everything a knowledge-base :class:`~quarry.stores.base.Store` adapter must honour."""

    def test_read_calls_write_nothing(self, store: Store, coll: str) -> None:
        store.write(coll, upserts=[make_write("mem://1", ["kiwi"])], states=[SourceState("mem://1", "h")])
        before = self.changes(store)
        if before is None:
            pytest.skip("this adapter does not count its writes")
        store.source_states(coll, "mem://")
        store.document_hashes(coll, "mem://1")
        store.find_text_hash(coll, "x")
        store.documents(coll)
        store.document(coll, "mem://1")
        store.chunks(coll, "mem://1")
        store.search_text(coll, "kiwi", 3, Eq("lang", "en"))
        store.search_vector(coll, EMBEDDER.embed_query("kiwi"), 3, Eq("lang", "en"))
        store.search_vector(coll, EMBEDDER.embed_query("kiwi"), 3)
        store.vectors(coll, [key for key, _ in store.rank_vector(coll, EMBEDDER.embed_query("kiwi"), 3)])
        store.collections()
        store.collection(coll)
        store.ensure_collection(coll, embedder=EMBEDDER.model_id)
        assert self.changes(store) == before
