"""Search across several collections: route the query to the ones that fit, search each, merge.

Scores from different collections are not comparable (BM25 statistics and z-scores are per
collection), so the per-collection rankings are merged by rank (RRF, :func:`fuse_collections`).
Routing matters for that merge: on a mixed four-collection test, merging all four put unrelated
collections' top hits high (nDCG@10 0.369) while routed search kept 0.860, against 0.869 for
searching the right collection alone (bench/RESULTS.md, "Query routing across collections").
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from quarry.retrieval.routing import Route, Router, fuse_collections
from quarry.retrieval.search import Mode, Searcher
from quarry.stores.filters import Filter
from quarry.types import Hit

__all__ = ["RoutedResult", "search_across"]


@dataclass(frozen=True, slots=True)
class RoutedResult:
    query: str
    routes: list[Route]  # every candidate collection, best first; ``selected`` ones were searched
    hits: list[tuple[str, Hit]]  # (collection, hit), merged best first
    seconds: float

    @property
    def searched(self) -> list[str]:
        return [route.collection for route in self.routes if route.selected]


def search_across(
    searcher: Searcher,
    router: Router,
    query: str,
    collections: Sequence[str] | None = None,
    *,
    k: int = 10,
    mode: Mode | None = None,
    where: Filter | None = None,
) -> RoutedResult:
    """Route ``query`` among ``collections`` (all when None), search the selected ones, merge by RRF.
    The query is embedded once when the router and the searcher share an embedder."""
    began = time.perf_counter()
    vector = router.embedder.embed_query(query)  # the router always needs it
    routes = router.rank(query, collections, vector=vector)
    shared = vector if router.embedder is searcher.embedder else None
    results = {
        route.collection: searcher.search(query, route.collection, k=k, mode=mode, where=where, query_vector=shared)
        for route in routes
        if route.selected
    }
    by_key = {name: {hit.chunk.id: hit for hit in result.hits} for name, result in results.items()}
    runs = {name: [(hit.chunk.id, hit.score) for hit in result.hits] for name, result in results.items()}
    merged = [(name, by_key[name][key]) for name, key, _ in fuse_collections(runs)[:k]]
    return RoutedResult(query, routes, merged, time.perf_counter() - began)
