"""``[retrieval]``: search modes, fusion, reranking, passage expansion, query expansion, routing, and
per-collection overrides."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from quarry.settings.section import Section

__all__ = [
    "CollectionRetrieval",
    "ExpandSettings",
    "QueryExpansionSettings",
    "RerankSettings",
    "RetrievalSettings",
    "RoutingSettings",
]


class RerankSettings(Section):
    """A second stage re-scoring the first ``depth`` fused hits. Off by default: no reranker
    improved SciFact nDCG@10 (bench/RESULTS.md, "Reranking")."""

    kind: Literal["none", "sentence-transformers", "e5", "cross-encoder", "llm"] = "none"
    model: str = Field(
        "all-mpnet-base-v2", description="packaged name, or a local sentence-transformers / cross-encoder folder"
    )
    depth: int = Field(10, ge=1, description="first-stage candidates re-scored")
    weight: float = Field(
        0.5, ge=0.0, le=1.0, description="reranker share of the z-scored blend; 1 = replace (0.5 chosen on train)"
    )
    threads: int = Field(1, ge=1, description="torch threads for the sentence-transformers/cross-encoder kinds")


class ExpandSettings(Section):
    """Widen each hit to the passage around it (exact document spans) — for answer context."""

    window: int = Field(0, ge=0, description="neighbouring chunks allowed on each side; 0 = off unless section")
    section: bool = Field(False, description="stay inside (or, with window 0, take all of) the hit's section")
    max_chars: int | None = Field(None, ge=1, description="cap on each hit's passage")


class QueryExpansionSettings(Section):
    """LLM query expansion with the configured chat model. Off by default: with the local SmolLM2
    both lowered SciFact nDCG@10 at the current default (test: HyDE −0.019, multi-query −0.025;
    train: −0.018, −0.017; bench/RESULTS.md)."""

    kind: Literal["none", "hyde", "multi_query"] = "none"
    hyde_prompt: str = "hyde@1"
    hyde_query_weight: float = Field(0.5, ge=0, le=1, description="query vector's share next to the passage's")
    multi_query_prompt: str = "multi_query@1"
    multi_query_n: int = Field(3, ge=1, le=10, description="rewrites asked for")
    multi_query_fusion: Literal["rrf", "zscore"] = "zscore"
    multi_query_original_weight: float = Field(2.0, gt=0, description="weight of the original query's ranking")


class RoutingSettings(Section):
    """Which collections a query across several goes to (``quarry.retrieval.routing``)."""

    k: int = Field(5, ge=1, description="nearest chunks whose mean cosine scores a collection's content")
    description_weight: float = Field(0.3, ge=0, le=1, description="share of the description's cosine")
    margin: float = Field(0.05, ge=0, description="collections within this of the best score are searched too")
    max_collections: int | None = Field(None, ge=1)


class CollectionRetrieval(Section):
    """Retrieval settings calibrated for one collection; ``None`` inherits ``[retrieval]``."""

    mode: Literal["hybrid", "bm25", "dense"] | None = None
    fusion: Literal["zscore", "minmax", "rrf"] | None = None
    fusion_unit: Literal["document", "chunk"] | None = None
    bm25_weight: float | None = Field(None, ge=0.0, le=1.0)
    rrf_k: float | None = Field(None, gt=0)


class RetrievalSettings(Section):
    mode: Literal["hybrid", "bm25", "dense"] = "hybrid"
    fusion: Literal["zscore", "minmax", "rrf"] = Field(
        "zscore", description="zscore chosen on SciFact train: 0.732 nDCG@10 vs RRF 0.726 (docs/architecture.md)"
    )
    fusion_unit: Literal["document", "chunk"] = Field(
        "document",
        description="document: each candidate document scored exactly on both paths by its best chunk, then "
        "fused (applies with max_chunks_per_document = 1, else chunk). Chosen on SciFact train: 0.745 vs 0.738 "
        "nDCG@10 (docs/architecture.md)",
    )
    bm25_weight: float = Field(0.5, ge=0.0, le=1.0, description="convex weight of BM25 (dense gets the rest)")
    rrf_k: float = Field(60.0, gt=0)
    depth: int = Field(100, ge=1, description="candidates taken from each path before fusion")
    max_chunks_per_document: int = Field(
        1,
        ge=0,
        description="hits per document in one result list; 0 = no limit. 1 chosen on SciFact train at k=10: "
        "nDCG@10 0.733 vs 0.719, recall@10 0.845 vs 0.805 (p = 0.0001); wider context: Searcher.expand",
    )
    duplicate_threshold: float | None = Field(
        None, gt=0, le=1, description="collapse hits whose word 3-shingle Jaccard reaches this; None = off"
    )
    mmr_lambda: float | None = Field(
        None, ge=0, le=1, description="MMR relevance/diversity trade-off; None = off (SciFact: <=0.7 costs nDCG)"
    )
    mmr_candidates: int = Field(30, ge=1, description="fused candidates MMR picks k from")
    rerank: RerankSettings = Field(default_factory=lambda: RerankSettings())
    expand: ExpandSettings = Field(default_factory=lambda: ExpandSettings())
    query_expansion: QueryExpansionSettings = Field(default_factory=lambda: QueryExpansionSettings())
    routing: RoutingSettings = Field(default_factory=lambda: RoutingSettings())
    collections: dict[str, CollectionRetrieval] = Field(
        default_factory=dict,
        description="per-collection overrides, e.g. [retrieval.collections.handbook] written by `quarry eval tune`",
    )

    def for_collection(self, name: str) -> RetrievalSettings:
        """These settings with ``name``'s overrides applied (unset fields inherit)."""
        override = self.collections.get(name)
        if override is None:
            return self
        return self.model_copy(update=override.model_dump(exclude_none=True))
