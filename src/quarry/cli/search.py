"""``quarry search``."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from quarry.cli.common import CollectionOpt, JsonOpt, console, system

if TYPE_CHECKING:
    from quarry.retrieval.search import Mode


class SearchMode(StrEnum):
    hybrid = "hybrid"
    bm25 = "bm25"
    dense = "dense"


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="what to look for")],
    collection: CollectionOpt = "default",
    k: Annotated[int, typer.Option("-k", help="number of results")] = 10,
    mode: Annotated[SearchMode | None, typer.Option(help="retrieval path (default: settings, hybrid)")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="show each hit's rank and score per path")] = False,
    as_json: JsonOpt = False,
    route: Annotated[
        bool, typer.Option("--route", help="search every collection the query fits (routing), merged; ignores -c")
    ] = False,
) -> None:
    """Search a collection and show the best chunks with where they come from."""
    from quarry.cli import views

    chosen: Mode | None = mode.value if mode else None
    if route:
        _search_routed(ctx, query, k, chosen, as_json)
        return
    result = system(ctx).searcher.search(query, collection, k=k, mode=chosen, explain=explain)
    if as_json:
        payload = {
            "query": query,
            "collection": collection,
            "mode": result.mode,
            "ms": round(result.seconds * 1000, 2),
            "trace_id": result.trace_id,
            "hits": [views.hit_dict(i, h) for i, h in enumerate(result.hits, 1)],
        }
        if explain:
            payload["explain"] = [
                {"chunk_id": e.chunk_id, "fused_score": e.fused_score, "paths": e.paths} for e in result.explanations
            ]
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    console.print(views.explain_table(result.hits, result.explanations) if explain else views.hits_table(result.hits))
    console.print(
        f"{len(result.hits)} result(s) in {result.seconds * 1000:.1f} ms ({result.mode}); trace {result.trace_id[:12]}"
    )


def _search_routed(ctx: typer.Context, query: str, k: int, mode: Mode | None, as_json: bool) -> None:
    from quarry.cli import views
    from quarry.retrieval.across import search_across

    quarry = system(ctx)
    result = search_across(quarry.searcher, quarry.router, query, k=k, mode=mode)
    if as_json:
        payload = {
            "query": query,
            "ms": round(result.seconds * 1000, 2),
            "routes": [
                {"collection": r.collection, "score": r.score, "content": r.content, "selected": r.selected}
                for r in result.routes
            ],
            "hits": [{"collection": c} | views.hit_dict(i, h) for i, (c, h) in enumerate(result.hits, 1)],
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    fits = ", ".join(f"{r.collection} {r.score:.3f}{' *' if r.selected else ''}" for r in result.routes)
    console.print(f"routes (* searched): {fits}")
    console.print(views.hits_table([hit for _, hit in result.hits]))
    console.print(f"{len(result.hits)} result(s) from {', '.join(result.searched)} in {result.seconds * 1000:.1f} ms")
