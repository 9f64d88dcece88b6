"""The search half of the Store conformance suite: filters inside both paths, k bounds, hostile
queries, and list-valued metadata (``AnyOf``). :class:`~quarry.testing.store_conformance.StoreConformance`
includes it; the ``store`` and ``coll`` fixtures come from there."""

from __future__ import annotations

from typing import Any

import pytest

from quarry.errors import StoreError
from quarry.stores.base import Store
from quarry.stores.filters import And, AnyOf, Eq, Filter, Not
from quarry.testing.store_data import (
    EMBEDDER,
    EMPTY_QUERIES,
    FILTER_CASES,
    FILTER_DOCS,
    HOSTILE_QUERIES,
    make_write,
    texts,
)

__all__ = ["SearchConformance"]


class SearchConformance:
    """Search semantics every Store adapter must honour (mixed into ``StoreConformance``)."""

    # -- searches

    @pytest.fixture
    def filter_coll(self, store: Store, coll: str) -> str:
        writes = [
            make_write(uri, [f"{title} quarterly report"], source_uri=src, title=title, metadata=meta)
            for uri, src, title, meta in FILTER_DOCS
        ]
        store.write(coll, upserts=writes)
        return coll

    @pytest.mark.parametrize(("where", "expected"), FILTER_CASES, ids=[repr(f) for f, _ in FILTER_CASES])
    def test_filters(self, store: Store, filter_coll: str, where: Filter, expected: set[int]) -> None:
        uris = {f"mem://{'aabbc'[i - 1]}/{i}" for i in expected}
        text_hits = store.search_text(filter_coll, "quarterly report", 10, where)
        dense_hits = store.search_vector(filter_coll, EMBEDDER.embed_query("quarterly report"), 10, where)
        assert {h.document_uri for h in text_hits} == uris
        assert {h.document_uri for h in dense_hits} == uris

    def test_filtered_searches_return_exactly_k(self, store: Store, coll: str) -> None:
        best = [
            make_write(f"mem://de/{i}", [f"salmon salmon salmon river {i}"], metadata={"lang": "de"}) for i in range(8)
        ]
        rest = [make_write(f"mem://en/{i}", [f"salmon and bread {i}"], metadata={"lang": "en"}) for i in range(6)]
        store.write(coll, upserts=best + rest)
        query, en = "salmon salmon salmon river", Eq("lang", "en")
        assert all(h.metadata["lang"] == "de" for h in store.search_text(coll, query, 4))
        for hits in (
            store.search_text(coll, query, 4, en),
            store.search_vector(coll, EMBEDDER.embed_query(query), 4, en),
        ):
            assert len(hits) == 4
            assert all(h.metadata["lang"] == "en" for h in hits)
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert len(store.search_text(coll, query, 10, en)) == 6
        assert len(store.search_vector(coll, EMBEDDER.embed_query(query), 10, en)) == 6

    def test_a_filter_that_allows_every_document_until_a_write(self, store: Store, coll: str) -> None:
        """Allowing every document scores exactly as no filter; once a write adds a document the filter
        excludes, that document is excluded (an allow-all remembered for the old state must not leak)."""
        team_a = [make_write(f"mem://a/{i}", [f"tidal energy report {i}"], metadata={"team": "a"}) for i in range(4)]
        store.write(coll, upserts=team_a)
        query, team = "tidal energy report", Eq("team", "a")
        vector = EMBEDDER.embed_query(query)
        for filtered, everything in (
            (store.search_text(coll, query, 10, team), store.search_text(coll, query, 10)),
            (store.search_vector(coll, vector, 10, team), store.search_vector(coll, vector, 10)),
        ):
            assert [(h.chunk.id, round(h.score, 6)) for h in filtered] == [
                (h.chunk.id, round(h.score, 6)) for h in everything
            ]
        store.write(
            coll, upserts=[make_write("mem://b/1", ["tidal energy report tidal energy"], metadata={"team": "b"})]
        )
        for hits in (store.search_text(coll, query, 10, team), store.search_vector(coll, vector, 10, team)):
            assert sorted(h.document_uri for h in hits) == [f"mem://a/{i}" for i in range(4)]

    def test_search_k_bounds(self, store: Store, coll: str) -> None:
        store.write(coll, upserts=[make_write(f"mem://{i}", [f"kiwi fruit {i}"]) for i in range(3)])
        assert store.search_text(coll, "kiwi", 0) == []
        assert store.search_vector(coll, EMBEDDER.embed_query("kiwi"), 0) == []
        assert len(store.search_text(coll, "kiwi", 50)) == 3
        assert len(store.search_vector(coll, EMBEDDER.embed_query("kiwi"), 50)) == 3

    @pytest.mark.parametrize("query", HOSTILE_QUERIES)
    def test_hostile_text_queries(self, store: Store, coll: str, query: str) -> None:
        store.write(coll, upserts=[make_write("mem://1", ["salmon river text", "AND OR NOT foo"])])
        hits = store.search_text(coll, query, 5)
        assert len(hits) <= 2

    @pytest.mark.parametrize("query", EMPTY_QUERIES)
    def test_queries_without_words_find_nothing(self, store: Store, coll: str, query: str) -> None:
        store.write(coll, upserts=[make_write("mem://1", ["salmon river text"])])
        assert store.search_text(coll, query, 5) == []

    def test_operator_words_are_plain_words(self, store: Store, coll: str) -> None:
        store.write(coll, upserts=[make_write("mem://1", ["salmon river"]), make_write("mem://2", ["NEAR a fish"])])
        assert texts(store.search_text(coll, "NEAR", 5)) == ["NEAR a fish"]
        assert texts(store.search_text(coll, "salmon AND nothing", 5)) == ["salmon river"]

    def test_best_chunks_scores_every_chunk_of_the_candidate_documents(self, store: Store, coll: str) -> None:
        store.write(
            coll,
            upserts=[
                make_write("mem://b/1", ["opening words", "salmon river salmon", "closing words"]),
                make_write("mem://b/2", ["salmon note", "bread"]),
                make_write("mem://b/3", ["salmon salmon salmon river"]),
            ],
        )
        query, vector = "salmon river", EMBEDDER.embed_query("salmon river")
        ranked_text, ranked_dense = store.rank_text(coll, query, 10), store.rank_vector(coll, vector, 10)
        every = {hit.chunk.text: key for key, hit in store.hits(coll, ranked_dense, "dense").items()}
        assert len(every) == 6
        one, two = every["opening words"], every["bread"]  # neither is its document's best chunk
        # asked through any chunk, a document answers with its best one, scored as rank_* scores it
        for keys in ([one, two], [two, one, "no-such-chunk"]):
            text = store.best_chunks(coll, keys, query=query)
            dense = store.best_chunks(coll, keys, vector=vector)
            assert len(text) == len(dense) == 2
            assert {key for key, _ in text.values()} <= set(dict(ranked_text))
            for key, score in text.values():
                assert score == pytest.approx(dict(ranked_text)[key])
            texts_by_key = {key: hit.chunk.text for key, hit in store.hits(coll, list(dense.values()), "dense").items()}
            assert set(texts_by_key.values()) == {"salmon river salmon", "salmon note"}
            for key, score in dense.values():
                assert score == pytest.approx(dict(ranked_dense)[key], abs=1e-5)
        assert store.best_chunks(coll, [], query=query) == {}
        with pytest.raises(StoreError):
            store.best_chunks(coll, [one], query=query, vector=vector)

    # -- AnyOf: list-valued metadata (access principals)

    def test_any_of_matches_lists_and_scalars(self, store: Store, coll: str) -> None:
        labels: dict[str, Any] = {
            "mem://l/1": {"principals": ["group:hr", "user:ann"]},
            "mem://l/2": {"principals": ["public"]},
            "mem://l/3": {"principals": "group:hr"},
            "mem://l/4": {"principals": []},
            "mem://l/5": {},
            "mem://l/6": {"principals": [True, None, 1]},
            "mem://l/7": {"principals": ["group:hr-admins"], "year": 2020},
        }
        writes = [make_write(uri, [f"ledger entry {uri[-1]}"], metadata=meta) for uri, meta in labels.items()]
        store.write(coll, upserts=writes)
        cases: list[tuple[Filter, set[str]]] = [
            (AnyOf("principals", ("group:hr",)), {"1", "3"}),
            (AnyOf("principals", ("public", "user:ann")), {"1", "2"}),
            (AnyOf("principals", ()), set()),
            (AnyOf("principals", ("group",)), set()),
            (AnyOf("principals", (1,)), {"6"}),
            (AnyOf("principals", (True, None)), set()),
            (Not(AnyOf("principals", ("group:hr",))), {"2", "4", "5", "6", "7"}),
            (AnyOf("year", (2020, 2021)), {"7"}),
            (AnyOf("uri", ("mem://l/4",)), {"4"}),
            (And(AnyOf("principals", ("group:hr", "group:hr-admins")), Eq("year", 2020)), {"7"}),
        ]
        query = "ledger entry"
        for where, expected in cases:
            text_hits = store.search_text(coll, query, 10, where)
            dense_hits = store.search_vector(coll, EMBEDDER.embed_query(query), 10, where)
            assert {h.document_uri[-1] for h in text_hits} == expected, where
            assert {h.document_uri[-1] for h in dense_hits} == expected, where

    def test_any_of_filters_before_ranking(self, store: Store, coll: str) -> None:
        secret = [
            make_write(f"mem://s/{i}", [f"salary salary salary band {i}"], metadata={"principals": ["group:hr"]})
            for i in range(5)
        ]
        public = [
            make_write(f"mem://p/{i}", [f"salary note {i}"], metadata={"principals": ["public"]}) for i in range(4)
        ]
        store.write(coll, upserts=secret + public)
        query, visible = "salary salary salary band", AnyOf("principals", ("public", "user:bob"))
        for hits in (
            store.search_text(coll, query, 3, visible),
            store.search_vector(coll, EMBEDDER.embed_query(query), 3, visible),
        ):
            assert len(hits) == 3
            assert all(h.document_uri.startswith("mem://p/") for h in hits)
        with pytest.raises(StoreError):
            store.search_text(coll, query, 3, AnyOf("bad key!", ("x",)))
