"""Ingestion progress: the embedding total is known before embedding starts (queued chunks), embedded counts
never run ahead of it, and the events add up to what the report says."""

from __future__ import annotations

from pathlib import Path

from quarry.assembly import Quarry
from quarry.ingest.sources import FileSource
from quarry.pipeline import Progress
from tests.pipeline.conftest import ESSAY


def test_the_embedding_total_is_known_before_embedding_and_events_match_the_report(system: Quarry) -> None:
    quarry = system
    quarry.ingestor.batch_chunks = 40  # several flushes, so several embedding rounds
    events: list[Progress] = []
    report = quarry.ingestor.run(FileSource(Path(ESSAY), max_bytes=10**7), "progress", progress=events.append)
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and events[0].total == 1 and kinds[-1] == "done"
    queued = embedded = 0
    for event in events:
        if event.kind == "queued":
            queued += event.count
        elif event.kind == "embedded":
            embedded += event.count
            assert embedded <= queued  # the bar's total is never behind what it counts
    assert kinds.index("queued") < kinds.index("embedded")
    assert queued == embedded == report.chunks_embedded == report.chunks_written > 80
    assert sum(e.count for e in events if e.kind == "embedded") > max(e.count for e in events if e.kind == "embedded")
