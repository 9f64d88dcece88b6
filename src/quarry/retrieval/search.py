"""Search over one collection: BM25, dense (exact cosine) or hybrid (both, fused).

Hybrid takes ``depth`` candidates from each path — each filtered *inside* the store, so a filter
never leaves fewer than k results when k chunks match — and fuses them with the configured method
(z-score convex combination by default; see :mod:`quarry.retrieval.fusion`). ``explain=True``
keeps every hit's rank and score on each path.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Literal

from quarry.embeddings.base import Embedder
from quarry.errors import ConfigError
from quarry.llm.base import ChatModel
from quarry.retrieval.diversity import Duplicate, collapse_near_duplicates, mmr_order
from quarry.retrieval.fusion import Ranked, convex, rrf
from quarry.retrieval.hit_windows import ExpandedHit, expand_hits
from quarry.retrieval.query_rewrite import (
    RewritePrompt,
    expand_queries,
    hypothetical_passage,
    mix_vectors,
    rank_expanded,
)
from quarry.retrieval.rerankers.base import Reranker
from quarry.settings import RetrievalSettings
from quarry.stores.base import Store
from quarry.stores.filters import Filter
from quarry.tracing import Span, Trace, Tracer
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
    duplicates: tuple[Duplicate, ...] = ()  # near-duplicates collapsed into a better hit (when enabled)


@dataclass(frozen=True, slots=True)
class _Request:
    """One search's resolved parameters, as the ranking stages need them."""

    query: str
    collection: str
    mode: str
    depth: int
    where: Filter | None
    settings: RetrievalSettings
    vector: Matrix | None = None  # the query's vector when the caller already has it
    embedder: Embedder | None = None  # the model that made the collection's vectors (None: the searcher's)


class Searcher:
    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        tracer: Tracer,
        settings: RetrievalSettings | None = None,
        *,
        reranker: Reranker | None = None,
        chat: ChatModel | None = None,
        prompts: Mapping[str, RewritePrompt] | None = None,
        embedders: Callable[[str], Embedder] | None = None,
    ) -> None:
        """``chat`` and ``prompts`` (by ``name@version``) serve query expansion, when configured. ``embedders``:
        the embedder of a model id, for collections whose vectors another (tuned) embedder made."""
        self.store, self.embedder, self.tracer = store, embedder, tracer
        self.embedders = embedders
        self.settings = settings or RetrievalSettings()
        self.reranker = reranker
        self.chat, self.prompts = chat, dict(prompts or {})

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
        query_vector: Matrix | None = None,
        max_chunks_per_document: int | None = None,
    ) -> SearchResult:
        """``trace``: record the search's stages in this (caller's) trace instead of opening one.
        ``query_vector``: ``query`` already embedded by this searcher's embedder (routing has it),
        so it is not embedded again. ``max_chunks_per_document`` overrides the setting for this
        search (answers read several passages of one long document)."""
        if k < 1:
            raise ConfigError(f"k must be at least 1, got {k}", key="k")
        settings = self.settings.for_collection(collection)
        if max_chunks_per_document is not None:
            settings = settings.model_copy(update={"max_chunks_per_document": max_chunks_per_document})
        chosen = mode or settings.mode
        embedder = self._embedder_for(collection, chosen)
        if embedder is not self.embedder:
            query_vector = None  # the caller embedded it with the searcher's model
        began = time.perf_counter()
        with self._trace(trace, query, collection=collection, mode=chosen, k=k) as trace:
            depth = max(k, settings.depth) if chosen == "hybrid" else k
            request = _Request(query, collection, chosen, depth, where, settings, query_vector, embedder)
            expanded = self._multi_query(trace, request)
            paths, vector = (expanded, None) if expanded else self._paths(trace, request)
            by_document = chosen == "hybrid" and vector is not None and _fuses_documents(settings)
            if by_document and vector is not None:
                paths = self._per_document(trace, request, paths, vector)
            with trace.stage("fuse", candidates=sum(len(p) for p in paths.values())):
                ranked = _fuse(paths, settings) if chosen == "hybrid" and not expanded else next(iter(paths.values()))
            pool = self._pool_size(k, settings, distinct_documents=by_document)
            pairs, duplicates = self._select(trace, query, collection, ranked[:pool], chosen, k, settings)
            _record_scores(trace, pairs, paths)
        explanations = _explain(pairs, paths) if explain else []
        hits = [hit for _, hit in pairs]
        seconds = time.perf_counter() - began
        return SearchResult(query, collection, chosen, hits, seconds, trace.trace_id, explanations, duplicates)

    def _trace(self, trace: Trace | None, query: str, **attributes: object) -> AbstractContextManager[Trace]:
        return nullcontext(trace) if trace is not None else self.tracer.trace("search", query, **attributes)

    def _select(
        self,
        trace: Trace,
        query: str,
        collection: str,
        ranked: Ranked,
        retriever: str,
        k: int,
        settings: RetrievalSettings,
    ) -> tuple[list[tuple[str, Hit]], tuple[Duplicate, ...]]:
        """The final ``k`` as (key, hit): hydrate the pool ``ranked``, collapse near-duplicates,
        apply the per-document limit, rerank the head, pick with MMR — each stage only when configured."""
        wanted = ranked
        with trace.stage("fetch") as span:
            found = self.store.hits(collection, wanted, retriever)
            pairs = [(key, found[key]) for key, _ in wanted if key in found]
            span.add(hits=len(pairs))
        duplicates: tuple[Duplicate, ...] = ()
        if settings.duplicate_threshold is not None:
            with trace.stage("collapse") as span:
                collapsed = collapse_near_duplicates([hit for _, hit in pairs], settings.duplicate_threshold)
                pairs, duplicates = [pairs[i] for i in collapsed.kept], collapsed.duplicates
                span.add(duplicates=len(duplicates))
        pairs = _limit_per_document(pairs, settings.max_chunks_per_document)
        if self.reranker is not None:
            with trace.stage("rerank", candidates=min(len(pairs), settings.rerank.depth)):
                pairs = _rerank(self.reranker, query, pairs, settings.rerank.depth)
        if settings.mmr_lambda is not None:
            with trace.stage("mmr"):
                pool = pairs[: settings.mmr_candidates]
                vectors = self.store.vectors(collection, [key for key, _ in pool])
                order = mmr_order([hit.score for _, hit in pool], vectors, k=k, lam=settings.mmr_lambda)
                pairs = [pool[i] for i in order]
        return pairs[:k], duplicates

    def _pool_size(self, k: int, settings: RetrievalSettings, *, distinct_documents: bool) -> int:
        """Fused candidates to hydrate: more than ``k`` when stages after fusion may drop some."""
        dropping = settings.max_chunks_per_document > 0 and not distinct_documents
        pool = k * 4 if dropping or settings.duplicate_threshold is not None else k
        if self.reranker is not None:
            pool = max(pool, settings.rerank.depth)
        if settings.mmr_lambda is not None:
            pool = max(pool, settings.mmr_candidates)
        return pool

    def expand(self, result: SearchResult) -> list[ExpandedHit]:
        """``result``'s hits widened to their passages as ``[retrieval.expand]`` says (exact spans)."""
        settings = self.settings.for_collection(result.collection).expand
        window = settings.window if settings.window > 0 or not settings.section else None
        return expand_hits(
            result.hits,
            self.store,
            result.collection,
            window=window,
            section=settings.section,
            max_chars=settings.max_chars,
        )

    def _embedder_for(self, collection: str, mode: str) -> Embedder:
        """The model the collection's vectors were made with: a query is never embedded with another."""
        info = self.store.collection(collection)
        if mode == "bm25" or info.embedder in (None, self.embedder.model_id):
            return self.embedder
        if self.embedders is not None and info.embedder is not None:
            return self.embedders(info.embedder)
        raise ConfigError(
            f"collection {collection!r} was embedded with {info.embedder}, not {self.embedder.model_id}",
            key="embeddings.model",
            hint="search with the same embedding model, use --mode bm25, or re-ingest into a new collection",
        )

    def _paths(self, trace: Trace, request: _Request) -> tuple[dict[str, Ranked], Matrix | None]:
        """Rank on each path; also the query vector (``None`` in BM25 mode). In hybrid mode BM25
        ranks on a worker thread while this one embeds the query (onnxruntime and most of bm25s's
        work release the GIL): the two overlap instead of adding up. The embedding is the longer
        of the two and the dense path waits for it, so it starts at once, on this thread."""
        query, collection, where = request.query, request.collection, request.where
        mode, depth = request.mode, request.depth
        paths: dict[str, Ranked] = {}
        here = trace.current()  # the worker's stage nests where this thread is
        text = _rank_pool().submit(self._rank_text, trace, request, here) if mode == "hybrid" else None
        if mode == "bm25":
            paths["bm25"] = self._rank_text(trace, request)
            return paths, None
        vector = self._embed_query(trace, query, request.settings, request.vector, request.embedder)
        if text is not None:
            paths["bm25"] = text.result()
        with trace.stage("retrieve.dense") as span:
            paths["dense"] = self.store.rank_vector(collection, vector, depth, where)
            span.add(candidates=len(paths["dense"]))
        return paths, vector

    def _rank_text(self, trace: Trace, request: _Request, parent: Span | None = None) -> Ranked:
        with trace.stage("retrieve.bm25", parent=parent) as span:
            ranked = self.store.rank_text(request.collection, request.query, request.depth, request.where)
            span.add(candidates=len(ranked))
        return ranked

    def _per_document(
        self, trace: Trace, request: _Request, paths: dict[str, Ranked], vector: Matrix
    ) -> dict[str, Ranked]:
        """Both paths re-scored per candidate document, exactly: a document's score on a path is
        its best chunk's, over all its chunks, whether or not that path ranked it in its top
        ``depth``. Each document is keyed by its best dense chunk, which stands for it in the
        results. Filters are per document, so every chunk of a candidate passes them."""
        keys = list(dict.fromkeys(key for run in paths.values() for key, _ in run))
        with trace.stage("complete", candidates=len(keys)) as span:
            text = self.store.best_chunks(request.collection, keys, query=request.query, where=request.where)
            dense = self.store.best_chunks(request.collection, keys, vector=vector)
            chosen = {document: best[0] for document, best in {**text, **dense}.items()}
            span.add(documents=len(chosen))
        return {"bm25": _document_run(text, chosen), "dense": _document_run(dense, chosen)}

    def _embed_query(
        self,
        trace: Trace,
        query: str,
        settings: RetrievalSettings,
        given: Matrix | None = None,
        embedder: Embedder | None = None,
    ) -> Matrix:
        embedder = embedder or self.embedder
        if given is not None:
            vector = given
        else:
            with trace.stage("embed", queries=1):
                vector = embedder.embed_query(query)
        expansion = settings.query_expansion
        if expansion.kind != "hyde" or self.chat is None:
            return vector
        with trace.stage("rewrite.hyde") as span:
            rewrite = hypothetical_passage(query, self.chat, self._prompt(expansion.hyde_prompt))
            span.add(fallbacks=int(bool(rewrite.fallback)))
        if not rewrite.texts:
            return vector
        with trace.stage("embed", queries=1):
            passage = embedder.embed_query(rewrite.texts[0])
        return mix_vectors(vector, passage, expansion.hyde_query_weight)

    def _multi_query(self, trace: Trace, request: _Request) -> dict[str, Ranked] | None:
        """Multi-query expansion (hybrid only): every rewrite searched on both paths, fused."""
        query, collection, where = request.query, request.collection, request.where
        mode, depth = request.mode, request.depth
        settings = request.settings
        expansion = settings.query_expansion
        if expansion.kind != "multi_query" or self.chat is None or mode != "hybrid":
            return None
        with trace.stage("rewrite.multi_query") as span:
            prompt = self._prompt(expansion.multi_query_prompt)
            rewrite = expand_queries(query, self.chat, prompt, n=expansion.multi_query_n)
            span.add(queries=len(rewrite.texts))
        if len(rewrite.texts) < 2:
            return None
        with trace.stage("retrieve.expanded"):
            ranked = rank_expanded(
                self.store,
                request.embedder or self.embedder,
                collection,
                rewrite.texts,
                depth,
                where,
                fusion=expansion.multi_query_fusion,
                original_weight=expansion.multi_query_original_weight,
                bm25_weight=settings.bm25_weight,
            )
        return {"expanded": ranked}

    def _prompt(self, ref: str) -> RewritePrompt:
        prompt = self.prompts.get(ref)
        if prompt is None:
            raise ConfigError(
                f"query expansion prompt {ref!r} was not given to the searcher",
                key="retrieval.query_expansion",
                hint="build the searcher through quarry.assembly, which loads the configured prompts",
            )
        return prompt


def _fuses_documents(settings: RetrievalSettings) -> bool:
    return settings.fusion_unit == "document" and settings.max_chunks_per_document == 1


def _document_run(best: dict[str, tuple[str, float]], chosen: dict[str, str]) -> Ranked:
    run = [(chosen[document], score) for document, (_, score) in best.items()]
    return sorted(run, key=lambda pair: (-pair[1], pair[0]))


def _fuse(paths: dict[str, Ranked], settings: RetrievalSettings) -> Ranked:
    runs = list(paths.values())
    if settings.fusion == "rrf":
        return rrf(runs, k=settings.rrf_k)
    weights = [settings.bm25_weight if name == "bm25" else 1 - settings.bm25_weight for name in paths]
    return convex(runs, weights, method=settings.fusion)


@functools.cache
def _rank_pool() -> ThreadPoolExecutor:
    """Threads that rank with BM25 while the caller embeds the query (shared by every Searcher)."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="quarry-bm25")


def _rerank(reranker: Reranker, query: str, pairs: list[tuple[str, Hit]], depth: int) -> list[tuple[str, Hit]]:
    """Re-score the first ``depth`` pairs; the rest keep their places after them."""
    head = pairs[:depth]
    key_of = {hit.chunk.id: key for key, hit in head}
    reranked = reranker.rerank(query, [hit for _, hit in head], len(head))
    return [(key_of[hit.chunk.id], hit) for hit in reranked] + pairs[depth:]


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


def _record_scores(trace: Trace, pairs: list[tuple[str, Hit]], paths: dict[str, Ranked]) -> None:
    """What drift reports read from a trace: how many hits, the best final score and the best cosine."""
    root = trace.root.attributes
    root.setdefault("hits", len(pairs))
    root.setdefault("top_score", round(pairs[0][1].score, 6) if pairs else 0.0)
    dense = paths.get("dense")
    if dense:
        root.setdefault("top_cosine", round(max(score for _, score in dense), 6))
