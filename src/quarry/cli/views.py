"""Rich renderings shared by the commands."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

if TYPE_CHECKING:
    from quarry.pipeline import IngestReport
    from quarry.retrieval.search import Explanation
    from quarry.stores.base import CollectionInfo, DocumentInfo, TraceRecord
    from quarry.types import Hit

__all__ = [
    "collection_dict",
    "collections_table",
    "document_dict",
    "documents_table",
    "explain_table",
    "hit_dict",
    "hits_table",
    "report_table",
    "trace_tree",
    "traces_table",
]


def collection_dict(info: CollectionInfo) -> dict[str, object]:
    return {
        "name": info.name,
        "description": info.description,
        "documents": info.documents,
        "chunks": info.chunks,
        "embedder": info.embedder,
    }


def collections_table(infos: list[CollectionInfo]) -> Table:
    table = Table("collection", "documents", "chunks", "embedder", "created", title="Collections")
    for i in infos:
        table.add_row(i.name, str(i.documents), str(i.chunks), i.embedder or "-", _when(i.created_at))
    return table


def document_dict(d: DocumentInfo) -> dict[str, object]:
    return {
        "uri": d.uri,
        "source_uri": d.source_uri,
        "title": d.title,
        "chunks": d.chunks,
        "duplicate_of": d.duplicate_of,
        "metadata": dict(d.metadata),
    }


def documents_table(collection: str, rows: list[DocumentInfo]) -> Table:
    table = Table(title=f"Documents in {collection}")
    table.add_column("uri", overflow="fold", ratio=3)
    table.add_column("title", overflow="fold", ratio=2)
    table.add_column("chunks", justify="right")
    if any(d.duplicate_of for d in rows):
        table.add_column("duplicate of", overflow="fold", ratio=2)
    for d in rows:
        cells = [d.uri, d.title[:60], str(d.chunks)]
        table.add_row(*cells, *([d.duplicate_of or ""] if len(table.columns) == 4 else []))
    return table


def hit_dict(rank: int, hit: Hit) -> dict[str, object]:
    c = hit.chunk
    return {
        "rank": rank,
        "score": round(hit.score, 6),
        "document_uri": hit.document_uri,
        "title": hit.title,
        "chunk": c.index,
        "start": c.start,
        "end": c.end,
        "page": c.page,
        "heading_path": list(c.heading_path),
        "flags": list(c.flags),
        "text": c.text,
    }


def hits_table(hits: list[Hit]) -> Group:
    """Hits as a numbered list (title, where it lives, the passage) that wraps cleanly at any width."""
    blocks: list[RenderableType] = []
    for rank, hit in enumerate(hits, 1):
        c = hit.chunk
        where = str(hit.metadata.get("url") or hit.metadata.get("path") or hit.document_uri)
        heading = " › ".join(c.heading_path[-2:])
        place = " · ".join(p for p in (heading, f"p.{c.page}" if c.page else "", f"[{c.start}:{c.end}]") if p)
        snippet = " ".join(c.text.split())
        snippet = snippet if len(snippet) <= 240 else snippet[:239] + "…"
        blocks.append(Text.assemble((f"{rank}. {hit.title or where}", "bold"), (f"  score {hit.score:.3f}", "dim")))
        lines = [Text(where, style="cyan", overflow="fold")] if hit.title and hit.title != where else []
        lines.append(Text(place, style="dim"))
        if c.flags:
            lines.append(Text(f"⚑ {', '.join(c.flags)}", style="red"))
        lines.append(Text(snippet))
        blocks.append(Padding(Group(*lines), (0, 0, 1, 3)))
    return Group(*blocks)


def explain_table(hits: list[Hit], explanations: list[Explanation]) -> Table:
    """Hits with their fused score and, per retrieval path, the rank and score that path gave."""
    paths = sorted({name for e in explanations for name in e.paths})
    table = Table("#", "fused", *[f"{p} rank (score)" for p in paths], "document", "text", expand=True)
    for rank, (hit, why) in enumerate(zip(hits, explanations, strict=True), 1):
        cells = [f"{why.paths[p][0]} ({why.paths[p][1]:.3f})" if p in why.paths else "-" for p in paths]
        snippet = " ".join(hit.chunk.text.split())[:100]
        table.add_row(str(rank), f"{why.fused_score:.3f}", *cells, hit.title or hit.document_uri, snippet)
    return table


def report_table(report: IngestReport) -> Table:
    """The run in a few short lines (fits 80 columns)."""
    table = Table(box=None, show_header=False, pad_edge=False, title=f"Ingested into {report.collection}")
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row(
        "files",
        f"{report.seen} seen: {report.new} new, {report.changed} changed, {report.unchanged} unchanged, "
        f"{report.deleted} deleted",
    )
    table.add_row("skipped", str(len(report.skipped)))
    table.add_row("failed", str(len(report.broken)))
    table.add_row(
        "stored",
        f"{report.documents_written} documents, {report.chunks_written} chunks ({report.chunks_embedded} embedded)",
    )
    table.add_row("time", f"{report.seconds:.2f} s")
    return table


def failures_table(report: IngestReport) -> list[Table]:
    """Skipped files (with why) and broken files (with the error), each a table that wraps at the terminal width."""
    tables = []
    for title, rows in (("Skipped", report.skipped), ("[red]Failed[/]", report.broken)):
        if not rows:
            continue
        table = Table("file", "reason", title=f"{title} ({len(rows)})", expand=True)
        for f in rows:
            table.add_row(Text(f.uri, overflow="fold"), Text(f.reason, overflow="fold"))
        tables.append(table)
    return tables


def traces_table(records: list[TraceRecord]) -> Table:
    table = Table("id", "kind", "name", "started", "ms", "status", title="Recent traces")
    for r in records:
        table.add_row(r.trace_id[:12], r.kind, r.name[:60], _when(r.started_at), f"{r.duration * 1000:.1f}", r.status)
    return table


def trace_tree(record: TraceRecord) -> Tree:
    spans = list(record.spans)
    root_spans = [s for s in spans if not s.get("parent_id")]
    tree = Tree(f"[bold]{record.kind}[/] {record.name}  {record.duration * 1000:.1f} ms  ({record.trace_id})")
    for root in root_spans:
        _add_children(tree, root, spans)
    return tree


def _add_children(node: Tree, span: dict[str, object], spans: list[dict[str, object]]) -> None:
    children = [s for s in spans if s.get("parent_id") == span.get("span_id")]
    for child in children:
        branch = node.add(_span_label(child))
        _add_children(branch, child, spans)


def _span_label(span: dict[str, object]) -> str:
    duration = float(str(span.get("duration", 0.0)))
    attrs = span.get("attributes") or {}
    detail = ", ".join(f"{k}={v}" for k, v in dict(attrs).items()) if isinstance(attrs, dict) else ""
    errors = span.get("errors") or []
    label = f"{span.get('name')}  {duration * 1000:.1f} ms  calls={span.get('calls')}  {detail}"
    if isinstance(errors, list) and errors:
        label += f"\n[red]{len(errors)} error(s): " + "; ".join(str(e) for e in errors[:5]) + "[/]"
    return label


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"
