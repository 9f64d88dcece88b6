"""Rich renderings shared by the commands."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

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
    table = Table("uri", "title", "chunks", "note", title=f"Documents in {collection}")
    for d in rows:
        note = f"duplicate of {d.duplicate_of}" if d.duplicate_of else ""
        table.add_row(d.uri, d.title[:60], str(d.chunks), note)
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


def hits_table(hits: list[Hit]) -> Table:
    table = Table("#", "score", "document", "where", "text", title=None, expand=True)
    for rank, hit in enumerate(hits, 1):
        c = hit.chunk
        where = " › ".join(c.heading_path[-2:]) + (f" p.{c.page}" if c.page else "") + f" [{c.start}:{c.end}]"
        snippet = " ".join(c.text.split())[:160]
        text = Text.assemble((f"⚑ {', '.join(c.flags)} ", "red"), snippet) if c.flags else snippet
        table.add_row(str(rank), f"{hit.score:.3f}", _document_cell(hit), where, text)
    return table


def _document_cell(hit: Hit) -> Text:
    """The title, and under it where the document lives (its path in the source, or its URL/uri)."""
    where = hit.metadata.get("url") or hit.metadata.get("path") or hit.document_uri
    if not hit.title or hit.title == where:
        return Text(str(where))
    return Text.assemble(hit.title, "\n", (str(where), "dim"))


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
    table = Table(
        "files seen",
        "new",
        "changed",
        "unchanged",
        "deleted",
        "failed",
        "documents",
        "chunks",
        "embedded",
        "seconds",
        title=f"Ingested into {report.collection}",
    )
    table.add_row(
        *(
            str(x)
            for x in (
                report.seen,
                report.new,
                report.changed,
                report.unchanged,
                report.deleted,
                report.failed,
                report.documents_written,
                report.chunks_written,
                report.chunks_embedded,
                f"{report.seconds:.2f}",
            )
        )
    )
    return table


def failures_table(report: IngestReport) -> Table:
    table = Table("file", "reason", title="[red]Failed (skipped)[/]", expand=True)
    for f in report.failures:
        table.add_row(f.uri, f.reason)
    return table


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
