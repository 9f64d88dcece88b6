"""Search over one collection: BM25 (the store's full-text index) or dense (exact cosine)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from quarry.embeddings.base import Embedder
from quarry.errors import ConfigError
from quarry.stores.base import Store
from quarry.stores.filters import Filter
from quarry.tracing import Tracer
from quarry.types import Hit

__all__ = ["Mode", "SearchResult", "Searcher"]

Mode = Literal["bm25", "dense"]


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    collection: str
    mode: str
    hits: list[Hit]
    seconds: float
    trace_id: str


class Searcher:
    def __init__(self, store: Store, embedder: Embedder, tracer: Tracer) -> None:
        self.store, self.embedder, self.tracer = store, embedder, tracer

    def search(
        self, query: str, collection: str, *, k: int = 10, mode: Mode = "dense", where: Filter | None = None
    ) -> SearchResult:
        if k < 1:
            raise ConfigError(f"k must be at least 1, got {k}", key="k")
        info = self.store.collection(collection)
        if mode == "dense" and info.embedder not in (None, self.embedder.model_id):
            raise ConfigError(
                f"collection {collection!r} was embedded with {info.embedder}, not {self.embedder.model_id}",
                key="embeddings.model",
                hint="search with the same embedding model, or re-ingest into a new collection",
            )
        with self.tracer.trace("search", query, collection=collection, mode=mode, k=k) as trace:
            if mode == "bm25":
                with trace.stage("retrieve", hits=0) as span:
                    hits = self.store.search_text(collection, query, k, where)
            else:
                with trace.stage("embed", queries=1):
                    vector = self.embedder.embed_query(query)
                with trace.stage("retrieve", hits=0) as span:
                    hits = self.store.search_vector(collection, vector, k, where)
            span.attributes["retriever"] = mode
            span.add(hits=len(hits))
        return SearchResult(query, collection, mode, hits, trace.duration, trace.trace_id)
