"""``quarry collections|docs|show|export|delete``: what is stored, one document, a dump, and removal."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from quarry.cli.common import CollectionOpt, JsonOpt, console, err_console, system
from quarry.errors import QuarryError

if TYPE_CHECKING:
    from quarry.stores.base import Store
    from quarry.types import Chunk, Document

__all__ = ["collections", "delete", "docs", "export", "show"]


def collections(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List collections with their document and chunk counts."""
    from quarry.cli import views

    infos = system(ctx).store.collections()
    if as_json:
        print(json.dumps([views.collection_dict(i) for i in infos], indent=2))
    else:
        console.print(views.collections_table(infos))


def docs(
    ctx: typer.Context,
    collection: CollectionOpt = "default",
    limit: Annotated[int, typer.Option(help="rows to show")] = 50,
    offset: Annotated[int, typer.Option(help="rows to skip")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """List the documents of a collection."""
    from quarry.cli import views

    quarry = system(ctx)
    quarry.store.collection(collection)
    rows = quarry.store.documents(collection, limit=limit, offset=offset)
    if as_json:
        print(json.dumps([views.document_dict(d) for d in rows], indent=2))
    else:
        console.print(views.documents_table(collection, rows))


def show(
    ctx: typer.Context,
    uri: Annotated[str, typer.Argument(help="the document's uri (see `quarry docs`); a file path works too")],
    collection: CollectionOpt = "default",
    chunks: Annotated[bool, typer.Option("--chunks", help="also list its chunks with their offsets")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show one stored document: where it came from, its metadata and its text (and chunks)."""
    from rich.table import Table

    store = system(ctx).store
    store.collection(collection)
    document = _find(store, collection, uri)
    parts = store.chunks(collection, document.uri) if chunks or as_json else []
    if as_json:
        print(json.dumps(_document_record(document, parts), indent=2, ensure_ascii=False))
        return
    console.print(f"[bold]{document.title or document.uri}[/]", highlight=False)
    console.print(f"uri: {document.uri}\nsource: {document.source_uri}", highlight=False, soft_wrap=False)
    for key, value in sorted(document.metadata.items()):
        console.print(f"{key}: {value}", highlight=False)
    console.rule()
    console.print(document.text, highlight=False, markup=False)
    if chunks:
        table = Table("#", "span", "page", "tokens", "headings", title=f"{len(parts)} chunk(s)")
        for c in parts:
            page = "-" if c.page is None else str(c.page)
            table.add_row(str(c.index), f"{c.start}:{c.end}", page, str(c.token_count), " › ".join(c.heading_path))
        console.print(table)


def _find(store: Store, collection: str, uri: str) -> Document:
    for candidate in dict.fromkeys((uri, str(Path(uri).expanduser().resolve()))):
        document = store.document(collection, candidate)
        if document is not None:
            return document
    raise QuarryError(
        f"no document {uri!r} in collection {collection}", hint=f"list uris with `quarry docs -c {collection}`"
    )


def export(
    ctx: typer.Context,
    collection: CollectionOpt = "default",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="write JSON Lines here (default: stdout)")] = None,
    with_chunks: Annotated[bool, typer.Option("--chunks/--no-chunks", help="include each document's chunks")] = True,
) -> None:
    """Export a collection as JSON Lines: one document per line with its text, metadata and chunks."""
    from rich.progress import Progress

    store = system(ctx).store
    info = store.collection(collection)
    stream: TextIO = out.open("w", encoding="utf-8") if out is not None else sys.stdout
    written = 0
    try:
        with Progress(console=err_console.get(), transient=True, disable=out is None) as bar:
            task = bar.add_task(f"exporting {collection}", total=info.documents)
            for offset in range(0, info.documents, 200):
                for row in store.documents(collection, limit=200, offset=offset):
                    document = store.document(collection, row.uri)
                    if document is None:  # deleted while exporting
                        continue
                    parts = store.chunks(collection, row.uri) if with_chunks else []
                    stream.write(json.dumps(_document_record(document, parts), ensure_ascii=False) + "\n")
                    written += 1
                    bar.advance(task)
    finally:
        if out is not None:
            stream.close()
    if out is not None:
        console.print(f"[green]exported[/] {written} document(s) of {collection} to {out}")


def _document_record(document: Document, chunks: list[Chunk]) -> dict[str, object]:
    record: dict[str, object] = {
        "uri": document.uri,
        "source_uri": document.source_uri,
        "title": document.title,
        "metadata": dict(document.metadata),
        "text": document.text,
    }
    if chunks:
        record["chunks"] = [
            {"index": c.index, "start": c.start, "end": c.end, "page": c.page,
             "heading_path": list(c.heading_path), "tokens": c.token_count, "flags": list(c.flags)}
            for c in chunks
        ]  # fmt: skip
    return record


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
    from quarry.pipeline.delete import delete_uris

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
    deleted = delete_uris(quarry.store, collection, targets)
    console.print(
        f"[green]deleted[/] {len(deleted.sources)} source(s), "
        f"{len(deleted.documents)} document uri(s) from {collection}"
    )
