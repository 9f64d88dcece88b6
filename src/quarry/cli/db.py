"""``quarry db status|upgrade``: the knowledge base's schema version, and applying pending migrations."""

from __future__ import annotations

import json

import typer

from quarry.cli.common import JsonOpt, console, settings_of

__all__ = ["db_app"]

db_app = typer.Typer(rich_markup_mode=None, help="The store's schema: its version and upgrades.", no_args_is_help=True)


@db_app.command("status")
def status(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The schema version of the configured store, the version this Quarry needs, and pending migrations.
    Exit 1 when migrations are pending."""
    from quarry.assembly.schema import schema_status

    found = schema_status(settings_of(ctx))
    if as_json:
        print(json.dumps({"engine": found.engine, "where": found.where, "version": found.version,
                          "target": found.target, "pending": list(found.pending)}))  # fmt: skip
    else:
        version = "none (empty)" if found.version is None else str(found.version)
        console.print(
            f"{found.engine} {found.where}: schema {version}, this Quarry needs {found.target}", highlight=False
        )
        for name in found.pending:
            console.print(f"  pending: {name}", highlight=False)
    if found.pending and found.version is not None:
        raise typer.Exit(1)


@db_app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Apply the pending migrations, each in its own transaction (safe to run from several hosts at once)."""
    from quarry.assembly.schema import schema_status, upgrade_schema

    settings = settings_of(ctx)
    applied = upgrade_schema(settings)
    for name in applied:
        console.print(f"[green]applied[/] {name}", highlight=False)
    found = schema_status(settings)
    console.print(f"{found.engine} {found.where}: schema {found.version}, up to date", highlight=False)
