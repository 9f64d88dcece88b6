"""``quarry traces``: recent runs, or one run as a tree with timings."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from quarry.cli.common import JsonOpt, console, system
from quarry.errors import QuarryError

if TYPE_CHECKING:
    from quarry.stores.base import TraceRecord


def traces(
    ctx: typer.Context,
    trace_id: Annotated[str | None, typer.Argument(help="show this trace (an id prefix is enough)")] = None,
    limit: Annotated[int, typer.Option(help="how many recent traces to list")] = 20,
    kind: Annotated[str | None, typer.Option(help="only ingest or search traces")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List recent traces, or show one as a tree of spans."""
    from quarry.cli import views

    store = system(ctx).trace_store
    if trace_id is None:
        records = store.traces(limit=limit, kind=kind)
        if as_json:
            print(json.dumps([_record_dict(r) for r in records], indent=2))
        else:
            console.print(views.traces_table(records))
        return
    record = store.trace(trace_id)
    if record is None:
        raise QuarryError(f"no trace matches {trace_id!r}", hint="list ids with `quarry traces`")
    if as_json:
        print(json.dumps(_record_dict(record), indent=2))
    else:
        console.print(views.trace_tree(record))


def _record_dict(record: TraceRecord) -> dict[str, object]:
    return {
        "trace_id": record.trace_id,
        "kind": record.kind,
        "name": record.name,
        "started_at": record.started_at,
        "duration": record.duration,
        "status": record.status,
        "attributes": dict(record.attributes),
        "spans": list(record.spans),
    }
