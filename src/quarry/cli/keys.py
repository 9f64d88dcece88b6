"""``quarry keys create|list|revoke``: API keys, stored hashed beside the store."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from quarry.cli.common import JsonOpt, console, settings_of, system
from quarry.errors import ConfigError, QuarryError

if TYPE_CHECKING:
    from quarry.cache.results import KeyUsage
    from quarry.stores.keys import KeyStore

keys_app = typer.Typer(
    rich_markup_mode=None, help="Create, list and revoke API keys for `quarry serve`.", no_args_is_help=True
)


def _keys(ctx: typer.Context) -> KeyStore:
    return system(ctx).key_store  # closed with the system when the command ends


@keys_app.command("create")
def create(
    ctx: typer.Context,
    scope: Annotated[str, typer.Option(help="read, write (ingest, delete documents) or admin")] = "read",
    collection: Annotated[
        list[str] | None, typer.Option("--collection", "-c", help="limit to this collection (repeatable)")
    ] = None,
    principal: Annotated[
        list[str] | None,
        typer.Option("--principal", "-p", help="who the caller is, e.g. user:ann, group:hr; '*' sees everything"),
    ] = None,
    note: Annotated[str, typer.Option(help="a note to recognise the key by")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Create a key and print its token once (only a hash is kept)."""
    from quarry.stores.keys import SCOPES

    if scope not in SCOPES:
        raise ConfigError(f"unknown scope {scope!r}", key="scope", hint="use --scope read, write or admin")
    key, token = _keys(ctx).create(scope, collections=collection or [], principals=principal or [], note=note)
    if as_json:
        print(
            json.dumps(
                {
                    "id": key.id,
                    "token": token,
                    "scope": key.scope,
                    "collections": list(key.collections),
                    "principals": list(key.principals),
                }
            )
        )
        return
    console.print(f"[green]created[/] key {key.id} ({key.scope}); the token is shown only now:")
    print(token)


@keys_app.command("list")
def list_keys(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List keys (never their tokens)."""
    from rich.table import Table

    keys = _keys(ctx).list()
    usage = _usage(ctx, [k.id for k in keys])
    rows = [
        {
            "id": k.id,
            "scope": k.scope,
            "collections": list(k.collections),
            "principals": list(k.principals),
            "note": k.note,
            "revoked": k.revoked_at is not None,
        }
        | ({"requests": usage[k.id].requests if k.id in usage else 0} if usage is not None else {})
        for k in keys
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    columns = ["id", "scope", "collections", "principals", "note", "status"] + (["requests"] if usage else [])
    table = Table(*columns, title="API keys")
    for k in keys:
        status = "revoked" if k.revoked_at is not None else "live"
        cells = [k.id, k.scope, ", ".join(k.collections) or "all", ", ".join(k.principals) or "-", k.note, status]
        if usage is not None:
            cells.append(str(usage[k.id].requests) if k.id in usage else "0")
        table.add_row(*cells)
    console.print(table)


def _usage(ctx: typer.Context, key_ids: list[str]) -> dict[str, KeyUsage] | None:
    """Requests per key across every API process, when they count them in Redis ([api] redis_url); else None."""
    settings = settings_of(ctx).api
    if not settings.redis_url:
        return None
    from quarry.cache.shared_redis import RedisRateLimiter, redis_client

    limiter = RedisRateLimiter(redis_client(settings.redis_url, "api.redis_url"), settings.rate_per_s,
                               settings.rate_burst)  # fmt: skip
    return limiter.usage(key_ids)


@keys_app.command("revoke")
def revoke(
    ctx: typer.Context, key_id: Annotated[str, typer.Argument(help="the key id from `quarry keys list`")]
) -> None:
    """Revoke a key; it stops working at once."""
    if not _keys(ctx).revoke(key_id):
        raise QuarryError(f"no live key {key_id!r}", hint="see `quarry keys list`")
    console.print(f"[green]revoked[/] key {key_id}")
