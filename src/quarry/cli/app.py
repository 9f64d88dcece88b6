"""Typer app: global options, error handling, and the small commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from typer.exceptions import TyperException

from quarry.assembly import Quarry, build
from quarry.cli import views
from quarry.errors import QuarryError
from quarry.settings import CONFIG_FILE, load_settings

__all__ = ["app", "main"]

app = typer.Typer(
    rich_markup_mode=None,
    name="quarry",
    help="Quarry: turn documents into a searchable, cited knowledge base — traced and measured.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

CollectionOpt = Annotated[str, typer.Option("--collection", "-c", help="collection (namespace) to use")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]


@app.callback()
def _global(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help=f"settings file (default ./{CONFIG_FILE} when present)")
    ] = None,
) -> None:
    ctx.obj = config


def system(ctx: typer.Context) -> Quarry:
    """The wired system for this invocation, closed when the command ends."""
    quarry = build(load_settings(ctx.obj))
    ctx.call_on_close(quarry.close)
    return quarry


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="where to create quarry.toml")] = Path("."),
    force: Annotated[bool, typer.Option(help="overwrite an existing quarry.toml")] = False,
) -> None:
    """Create quarry.toml with the defaults and an empty store."""
    from quarry.cli.init import write_config

    path = write_config(directory, force=force)
    quarry = build(load_settings(path))
    quarry.store.collections()
    quarry.close()
    console.print(f"[green]created[/] {path} (store: {quarry.settings.store.path})")


@app.command()
def collections(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List collections with their document and chunk counts."""
    infos = system(ctx).store.collections()
    if as_json:
        print(json.dumps([views.collection_dict(i) for i in infos], indent=2))
    else:
        console.print(views.collections_table(infos))


@app.command()
def docs(
    ctx: typer.Context,
    collection: CollectionOpt = "default",
    limit: Annotated[int, typer.Option(help="rows to show")] = 50,
    offset: Annotated[int, typer.Option(help="rows to skip")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """List the documents of a collection."""
    quarry = system(ctx)
    quarry.store.collection(collection)
    rows = quarry.store.documents(collection, limit=limit, offset=offset)
    if as_json:
        print(json.dumps([views.document_dict(d) for d in rows], indent=2))
    else:
        console.print(views.documents_table(collection, rows))


@app.command()
def delete(
    ctx: typer.Context,
    uris: Annotated[
        list[str] | None, typer.Argument(help="document or source uris (file paths, URLs) to delete")
    ] = None,
    collection: CollectionOpt = "default",
    drop: Annotated[bool, typer.Option("--all", help="delete the whole collection")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask before deleting a whole collection")] = False,
) -> None:
    """Delete documents (by uri or source) or, with --all, a whole collection (asks first; --yes does not)."""
    quarry = system(ctx)
    info = quarry.store.collection(collection)
    if drop:
        if not yes and not typer.confirm(
            f"Delete collection {collection} and its {info.documents} document(s)? This cannot be undone."
        ):
            raise QuarryError("nothing deleted", hint="pass --yes to delete without asking")
        quarry.store.delete_collection(collection)
        console.print(f"[green]deleted[/] collection {collection}")
        return
    if not uris:
        raise QuarryError("nothing to delete", hint="name document uris, or pass --all to drop the collection")
    targets = [str(Path(u).resolve()) if Path(u).exists() else u for u in uris]
    sources = [t for t in targets if t in quarry.store.source_states(collection, prefix=t)]
    documents = [t for t in targets if t not in sources]
    quarry.store.write(collection, delete_sources=sources, delete_uris=documents)
    console.print(f"[green]deleted[/] {len(sources)} source(s), {len(documents)} document uri(s) from {collection}")


def main() -> None:
    """Entry point: runs the app and turns Quarry errors into a message and exit code 2."""
    from quarry.cli import ask, cache, eval_answers, evaluate, guards, ingest, keys, search, serve, traces  # noqa: F401  (registers commands)

    try:
        code = app(standalone_mode=False)
    except QuarryError as exc:
        err_console.print(f"[bold red]error:[/] {exc.message}")
        if exc.hint:
            err_console.print(f"[yellow]hint:[/] {exc.hint}")
        sys.exit(2)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except TyperException as exc:
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        sys.exit(int(getattr(exc, "exit_code", 2)))
    sys.exit(code if isinstance(code, int) else 0)
