"""Search over one collection: BM25, dense (exact cosine) or hybrid (both, fused).

Hybrid takes ``depth`` candidates from each path — each filtered *inside* the store, so a filter
never leaves fewer than k results when k chunks match — and fuses them with the configured method
(z-score convex combination by default; see :mod:`quarry.retrieval.fusion`). ``explain=True``
keeps every hit's rank and score on each path.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Literal

from quarry.embeddings.base import Embedder
from quarry.errors import ConfigError
from quarry.retrieval.fusion import Ranked, convex, rrf
from quarry.settings import RetrievalSettings
from quarry.stores.base import Store
from quarry.stores.filters import Filter
from quarry.tracing import Trace, Tracer
from quarry.types import Hit, Matrix

__all__ = ["Explanation", "Mode", "SearchResult", "Searcher"]

Mode = Literal["hybrid", "bm25", "dense"]


@dataclass(frozen=True, slots=True)
class Explanation:
    """Where a hit came from: ``paths[name] = (rank, score)`` for each path that found it."""

    chunk_id: str
    fused_score: float
    paths: dict[str, tuple[int, float]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    collection: str
    mode: str
    hits: list[Hit]
    seconds: float
    trace_id: str
    explanations: list[Explanation] = field(default_factory=list)


class Searcher:
    def __init__(
        self, store: Store, embedder: Embedder, tracer: Tracer, settings: RetrievalSettings | None = None
    ) -> None:
        self.store, self.embedder, self.tracer = store, embedder, tracer
        self.settings = settings or RetrievalSettings()

    def search(
        self,
        query: str,
        collection: str,
        *,
        k: int = 10,
        mode: Mode | None = None,
        where: Filter | None = None,
        explain: bool = False,
        trace: Trace | None = None,
    ) -> SearchResult:
        """``trace``: record the search's stages in this (caller's) trace instead of opening one."""
        if k < 1:
            raise ConfigError(f"k must be at least 1, got {k}", key="k")
        settings = self.settings.for_collection(collection)
        chosen = mode or settings.mode
        self._check_embedder(collection, chosen)
        began = time.perf_counter()
        with self._trace(trace, query, collection=collection, mode=chosen, k=k) as trace:
            depth = max(k, settings.depth) if chosen == "hybrid" else k
            paths = self._paths(trace, query, collection, chosen, depth, where)
            with trace.stage("fuse", candidates=sum(len(p) for p in paths.values())):
                ranked = _fuse(paths, settings) if chosen == "hybrid" else next(iter(paths.values()))
            with trace.stage("fetch") as span:
                pairs = self._fetch(collection, ranked, chosen, k)
                span.add(hits=len(pairs))
        explanations = _explain(pairs, paths) if explain else []
        hits = [hit for _, hit in pairs]
        seconds = time.perf_counter() - began
        return SearchResult(query, collection, chosen, hits, seconds, trace.trace_id, explanations)

    def _trace(self, trace: Trace | None, query: str, **attributes: object) -> AbstractContextManager[Trace]:
        return nullcontext(trace) if trace is not None else self.tracer.trace("search", query, **attributes)

    def _fetch(self, collection: str, ranked: Ranked, retriever: str, k: int) -> list[tuple[str, Hit]]:
        """Hydrate the best ``k`` (more when a per-document limit drops some), as (key, hit)."""
        limit = self.settings.max_chunks_per_document
        wanted = ranked[: k if limit <= 0 else k * 4]
        found = self.store.hits(collection, wanted, retriever)
        pairs = [(key, found[key]) for key, _ in wanted if key in found]
        return _limit_per_document(pairs, limit)[:k]

    def _check_embedder(self, collection: str, mode: str) -> None:
        info = self.store.collection(collection)
        if mode != "bm25" and info.embedder not in (None, self.embedder.model_id):
            raise ConfigError(
                f"collection {collection!r} was embedded with {info.embedder}, not {self.embedder.model_id}",
                key="embeddings.model",
                hint="search with the same embedding model, use --mode bm25, or re-ingest into a new collection",
            )

    def _paths(
        self, trace: Trace, query: str, collection: str, mode: str, depth: int, where: Filter | None
    ) -> dict[str, Ranked]:
        """Rank on each path. In hybrid mode the query is embedded on a worker thread while BM25
        ranks on this one (onnxruntime and most of bm25s's work release the GIL): the two overlap
        instead of adding up."""
        paths: dict[str, Ranked] = {}
        embedding = _embed_pool().submit(self._embed_query, trace, query) if mode != "bm25" else None
        if mode in ("hybrid", "bm25"):
            with trace.stage("retrieve.bm25") as span:
                paths["bm25"] = self.store.rank_text(collection, query, depth, where)
                span.add(candidates=len(paths["bm25"]))
        if embedding is not None:
            vector = embedding.result()
            with trace.stage("retrieve.dense") as span:
                paths["dense"] = self.store.rank_vector(collection, vector, depth, where)
                span.add(candidates=len(paths["dense"]))
        return paths

    def _embed_query(self, trace: Trace, query: str) -> Matrix:
        with trace.stage("embed", queries=1):
            return self.embedder.embed_query(query)


def _fuse(paths: dict[str, Ranked], settings: RetrievalSettings) -> Ranked:
    runs = list(paths.values())
    if settings.fusion == "rrf":
        return rrf(runs, k=settings.rrf_k)
    weights = [settings.bm25_weight if name == "bm25" else 1 - settings.bm25_weight for name in paths]
    return convex(runs, weights, method=settings.fusion)


@functools.cache
def _embed_pool() -> ThreadPoolExecutor:
    """Threads that embed queries while the caller ranks with BM25 (shared by every Searcher)."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="quarry-query-embed")


def _limit_per_document(pairs: Sequence[tuple[str, Hit]], limit: int) -> list[tuple[str, Hit]]:
    if limit <= 0:
        return list(pairs)
    counts: dict[str, int] = {}
    kept: list[tuple[str, Hit]] = []
    for key, hit in pairs:
        seen = counts.get(hit.document_uri, 0)
        if seen < limit:
            counts[hit.document_uri] = seen + 1
            kept.append((key, hit))
    return kept


def _explain(pairs: Sequence[tuple[str, Hit]], paths: dict[str, Ranked]) -> list[Explanation]:
    ranks = {name: {key: (rank, score) for rank, (key, score) in enumerate(found, 1)} for name, found in paths.items()}
    return [
        Explanation(hit.chunk.id, hit.score, {name: r[key] for name, r in ranks.items() if key in r})
        for key, hit in pairs
    ]
