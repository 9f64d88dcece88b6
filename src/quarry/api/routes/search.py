"""``POST /v1/search``: hybrid, BM25 or dense search, restricted to what the caller may see.

Responses are cached per process (:mod:`quarry.api.search_cache` says what the key holds, so a
cached response never reaches a caller with other principals, and any write to the collection
invalidates it). A cached response has ``cached: true`` and an empty ``trace_id`` (no search ran).
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Response

from quarry.api.context import CallerDep, ContextDep
from quarry.api.filters import parse_filter
from quarry.api.schemas import SearchRequest, SearchResponse
from quarry.api.search_cache import encode_hits, normalise_query, response_bytes, search_key
from quarry.api.wire import hit_out
from quarry.retrieval.search import Explanation

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search", response_model=SearchResponse)
def search(body: SearchRequest, caller: CallerDep, context: ContextDep) -> Response:
    """The ``k`` best chunks for ``query``. The caller's principals filter inside every search path, so a
    restricted document never takes a slot: the caller still gets ``k`` hits when ``k`` visible ones exist.

    Identical searches (same collection state, normalised query, k, mode, filter, explain and the same
    principals) may be answered from the server's result cache: then ``cached`` is true and
    ``trace_id`` is empty."""
    began = time.perf_counter()
    caller.require("read", body.collection)
    where = caller.restrict(parse_filter(body.filter))
    searcher = context.quarry.searcher
    mode = body.mode or searcher.settings.mode
    query = normalise_query(body.query) or body.query
    cache, key = context.results, None
    if cache.enabled:
        generation = context.quarry.store.collection(body.collection).generation
        key = search_key(body, generation, query, mode, where, caller)
        cached = cache.get(key)
        context.metrics.observe_cache(cached is not None)
        if cached is not None:
            took = (time.perf_counter() - began) * 1000
            return _json(response_bytes(body, mode, took, "", cached, cached=True))
    result = searcher.search(query, body.collection, k=body.k, mode=mode, where=where, explain=body.explain)
    explained = {e.chunk_id: _explain(e) for e in result.explanations}
    hits = encode_hits(
        [
            hit_out(rank, hit, caller, explain=explained.get(hit.chunk.id) if body.explain else None)
            for rank, hit in enumerate(result.hits, 1)
        ]
    )
    if key is not None:
        cache.put(key, hits)
    return _json(response_bytes(body, result.mode, result.seconds * 1000, result.trace_id, hits, cached=False))


def _json(content: bytes) -> Response:
    return Response(content, media_type="application/json")


def _explain(explanation: Explanation) -> dict[str, Any]:
    paths = {name: {"rank": rank, "score": score} for name, (rank, score) in explanation.paths.items()}
    return {"fused_score": explanation.fused_score, "paths": paths}
