"""``POST /v1/search``: hybrid, BM25 or dense search, restricted to what the caller may see."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from quarry.api.context import CallerDep, ContextDep
from quarry.api.filters import parse_filter
from quarry.api.schemas import SearchRequest, SearchResponse
from quarry.api.wire import hit_out
from quarry.retrieval.search import Explanation

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search")
def search(body: SearchRequest, caller: CallerDep, context: ContextDep) -> SearchResponse:
    """The ``k`` best chunks for ``query``. The caller's principals filter inside every search path, so a
    restricted document never takes a slot: the caller still gets ``k`` hits when ``k`` visible ones exist."""
    caller.require("read", body.collection)
    where = caller.restrict(parse_filter(body.filter))
    result = context.quarry.searcher.search(
        body.query, body.collection, k=body.k, mode=body.mode, where=where, explain=body.explain
    )
    explained = {e.chunk_id: _explain(e) for e in result.explanations}
    hits = [
        hit_out(rank, hit, caller, explain=explained.get(hit.chunk.id) if body.explain else None)
        for rank, hit in enumerate(result.hits, 1)
    ]
    return SearchResponse(
        query=body.query,
        collection=body.collection,
        mode=result.mode,
        took_ms=round(result.seconds * 1000, 3),
        trace_id=result.trace_id,
        hits=hits,
    )


def _explain(explanation: Explanation) -> dict[str, Any]:
    paths = {name: {"rank": rank, "score": score} for name, (rank, score) in explanation.paths.items()}
    return {"fused_score": explanation.fused_score, "paths": paths}
