"""``quarry search``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from quarry.cli import views
from quarry.cli.app import CollectionOpt, JsonOpt, app, console, system
from quarry.retrieval.search import Mode


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="what to look for")],
    collection: CollectionOpt = "default",
    k: Annotated[int, typer.Option("-k", help="number of results")] = 10,
    mode: Annotated[str, typer.Option(help="bm25 or dense")] = "dense",
    as_json: JsonOpt = False,
) -> None:
    """Search a collection and show the best chunks with where they come from."""
    if mode not in ("bm25", "dense"):
        raise typer.BadParameter(f"mode must be bm25 or dense, not {mode!r}", param_hint="--mode")
    chosen: Mode = "bm25" if mode == "bm25" else "dense"
    result = system(ctx).searcher.search(query, collection, k=k, mode=chosen)
    if as_json:
        payload = {
            "query": query,
            "collection": collection,
            "mode": mode,
            "ms": round(result.seconds * 1000, 2),
            "trace_id": result.trace_id,
            "hits": [views.hit_dict(i, h) for i, h in enumerate(result.hits, 1)],
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    console.print(views.hits_table(result.hits))
    console.print(
        f"{len(result.hits)} result(s) in {result.seconds * 1000:.1f} ms ({mode}); trace {result.trace_id[:12]}"
    )
