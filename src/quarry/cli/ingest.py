"""``quarry ingest``: a folder, file, URL or SQL query into a collection, with progress."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from quarry.cli.common import CollectionOpt, JsonOpt, console, err_console, system

if TYPE_CHECKING:
    from quarry.assembly import Quarry
    from quarry.ingest.sources import Source
    from quarry.pipeline import IngestReport
    from quarry.pipeline import Progress as Event

GlobOpt = Annotated[list[str] | None, typer.Option(help="glob pattern (repeatable)")]


def ingest(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="folder, file, http(s) URL, or database URL (with --query)")],
    collection: CollectionOpt = "default",
    include: GlobOpt = None,
    exclude: GlobOpt = None,
    sync: Annotated[bool, typer.Option("--sync", help="also delete stored documents whose source is gone")] = False,
    query: Annotated[str | None, typer.Option(help="SQL whose rows become documents")] = None,
    id_column: Annotated[str, typer.Option(help="SQL column with a stable row id")] = "id",
    text_column: Annotated[str, typer.Option(help="SQL column with the text")] = "text",
    title_column: Annotated[str | None, typer.Option(help="SQL column with a title")] = None,
    engine: Annotated[
        str | None, typer.Option(help="local, or ray: parse and embed on a Ray cluster ([ingest] ray_address)")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="exit 1 also when files were skipped (unsupported, binary, too large)")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Ingest documents; re-running skips what is unchanged.

    Exit code 0 when everything readable was ingested (skipped files are listed with the reason), 1 when a
    file was broken, or with --strict when any file was skipped."""
    from quarry.ingest.sources import SqlOptions, open_source

    quarry = system(ctx)
    settings = quarry.settings.ingest
    if engine is not None:
        if engine not in ("local", "ray"):
            raise typer.BadParameter("use local or ray", param_hint="--engine")
        settings.engine = "ray" if engine == "ray" else "local"
    source = open_source(
        target,
        include=[*settings.include, *(include or [])],
        exclude=[*settings.exclude, *(exclude or [])],
        max_bytes=int(settings.max_file_mb * 1e6),
        timeout_s=settings.url_timeout_s,
        sql=SqlOptions(query, id_column, text_column, title_column),
    )
    if as_json:
        report = quarry.ingestor.run(source, collection, sync=sync)
        print(json.dumps(report.as_dict(), indent=2))
    else:
        report = _run_with_progress(quarry, source, collection, sync)
        _print_report(report)
    if not report.ok or (strict and report.failures):
        raise typer.Exit(1)


def _run_with_progress(quarry: Quarry, source: Source, collection: str, sync: bool) -> IngestReport:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=err_console.get(),
        transient=False,
    )
    files = progress.add_task("files", total=None, detail="")
    chunks = progress.add_task("chunks embedded", total=0, detail="")
    queued = 0

    def on_event(event: Event) -> None:
        nonlocal queued
        if event.kind == "start":
            progress.update(files, total=event.total)
        elif event.kind == "unit":
            progress.update(files, advance=1, detail=f"{event.status}: {event.uri[-50:]}")
        elif event.kind == "queued":  # the total grows as files are chunked, before embedding starts
            queued += event.count
            progress.update(chunks, total=queued)
        elif event.kind == "embedded":
            progress.update(chunks, advance=event.count)
        elif event.kind == "done":
            progress.update(files, detail="")

    with progress:
        return quarry.ingestor.run(source, collection, sync=sync, progress=on_event)


def _print_report(report: IngestReport) -> None:
    from quarry.cli import views

    console.print(views.report_table(report))
    for table in views.failures_table(report):
        console.print(table)
    console.print(f"trace: [cyan]{report.trace_id[:12]}[/] (quarry traces {report.trace_id[:12]})")
