"""``quarry cache stats|clear``: the semantic answer cache."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from quarry.cli.common import JsonOpt, console, system
from quarry.errors import ConfigError

if TYPE_CHECKING:
    from quarry.cache.semantic import SemanticCache

cache_app = typer.Typer(rich_markup_mode=None, help="The semantic answer cache.", no_args_is_help=True)


def _cache(ctx: typer.Context) -> SemanticCache:
    cache = system(ctx).answer_cache
    if cache is None:
        raise ConfigError("the answer cache is off", key="cache.enabled", hint="set [cache] enabled = true")
    return cache


@cache_app.command("stats")
def stats(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Entries per collection, size, hits and misses since the last clear."""
    from rich.table import Table

    cache = _cache(ctx)
    counts = cache.counts()
    data = {
        "backend": cache.backend.name, "threshold": cache.threshold, "ttl_s": cache.ttl_s,
        "entries": counts.entries, "bytes": counts.bytes, "hits": counts.hits, "misses": counts.misses,
        "hit_rate": round(counts.hit_rate, 4), "collections": counts.collections,
    }  # fmt: skip
    if as_json:
        print(json.dumps(data, indent=2))
        return
    table = Table("collection", "entries", title=f"answer cache ({cache.backend.name}, threshold {cache.threshold})")
    for name, n in sorted(counts.collections.items()):
        table.add_row(name, str(n))
    console.print(table)
    console.print(
        f"{counts.entries} entries, {counts.bytes / 1024:.1f} KiB; {counts.hits} hits, {counts.misses} misses "
        f"(hit rate {counts.hit_rate:.1%})"
    )


@cache_app.command("clear")
def clear(
    ctx: typer.Context,
    collection: Annotated[str | None, typer.Option("--collection", "-c", help="only this collection")] = None,
) -> None:
    """Drop cached answers (of one collection, or all of them and the counters)."""
    dropped = _cache(ctx).clear(collection)
    console.print(f"[green]cleared[/] {dropped} cached answer(s){f' of {collection}' if collection else ''}")
