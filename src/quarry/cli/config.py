"""``quarry init`` (a commented quarry.toml) and ``quarry config show`` (the settings in effect, and from where)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from quarry.cli.common import JsonOpt, console, where_of
from quarry.errors import ConfigError

__all__ = ["config_app", "init"]

config_app = typer.Typer(rich_markup_mode=None, help="The settings in effect.", no_args_is_help=True)


def init(
    ctx: typer.Context,
    directory: Annotated[
        Path | None, typer.Argument(help="where to create quarry.toml (default: --home, $QUARRY_HOME or here)")
    ] = None,
    force: Annotated[bool, typer.Option(help="overwrite an existing quarry.toml")] = False,
) -> None:
    """Create quarry.toml (every setting, commented, with its default) and an empty store."""
    from quarry.assembly import build
    from quarry.settings import CONFIG_FILE, Settings, home_folder, load_settings
    from quarry.settings.template import commented_settings

    folder = directory if directory is not None else home_folder(where_of(ctx).home)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CONFIG_FILE
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists", key="config", hint="pass --force to overwrite it")
    path.write_text(commented_settings(Settings.model_construct()), encoding="utf-8")
    quarry = build(load_settings(path))
    quarry.store.collections()
    quarry.close()
    console.print(f"[green]created[/] {path}", highlight=False)
    console.print(f"store: {quarry.settings.store.where}", highlight=False)


@config_app.command("show")
def show(
    ctx: typer.Context,
    changed: Annotated[bool, typer.Option("--changed", help="only settings that differ from the default")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Print every setting in effect and where it came from (file, env, default); secrets are masked."""
    from rich.table import Table

    from quarry.settings import config_file, load_settings
    from quarry.settings.effective import effective_settings

    where = where_of(ctx)
    path = config_file(where.config, where.home)
    settings = load_settings(where.config, home=where.home, check_secrets=False)
    rows = [r for r in effective_settings(settings, path) if not changed or r.origin != "default"]
    if as_json:
        payload = {"config": str(path) if path.is_file() else None, "settings": [r.__dict__ for r in rows]}
        print(json.dumps(payload, indent=2, default=str))
        return
    console.print(f"settings file: {path if path.is_file() else f'none ({path} does not exist)'}", highlight=False)
    if not rows:
        console.print("every setting is at its default")
        return
    table = Table("setting", "value", "from", box=None, pad_edge=False)
    for row in rows:
        value = json.dumps(row.value, default=str) + (f"  ({row.note})" if row.note else "")
        table.add_row(row.key, value, row.origin)
    console.print(table)
