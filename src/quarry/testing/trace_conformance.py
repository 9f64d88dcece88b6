"""A conformance suite for :class:`~quarry.stores.base.TraceStore` adapters.

class TestMyTraces(TraceStoreConformance):
    @pytest.fixture
    def traces(self, tmp_path: Path) -> Iterator[TraceStore]:
        store = MyTraceStore(...)
        yield store
        store.close()
"""

from __future__ import annotations

import pytest

from quarry.stores.base import TraceStore
from quarry.tracing.spans import Tracer

__all__ = ["TraceStoreConformance"]


class TraceStoreConformance:
    @pytest.fixture
    def traces(self) -> TraceStore:
        """Override with a fixture yielding a fresh, empty trace store (and closing it afterwards)."""
        raise NotImplementedError("override the `traces` fixture in your TraceStoreConformance subclass")

    def test_traces_round_trip_newest_first_with_nested_spans(self, traces: TraceStore) -> None:
        tracer = Tracer([traces])
        with tracer.trace("ingest", "ingest ./docs", path="./docs") as first:
            with first.stage("parse", items=3), first.stage("parse.pdf"):
                pass
            first.error("parse", "bad.pdf: encrypted")
        with pytest.raises(RuntimeError), tracer.trace("search", "what is quarry?"):
            raise RuntimeError("boom")
        second = traces.traces()[0]
        assert [t.kind for t in traces.traces()] == ["search", "ingest"]
        assert (second.status, second.name) == ("error", "what is quarry?")
        assert [t.trace_id for t in traces.traces(kind="ingest")] == [first.trace_id]
        assert len(traces.traces(limit=1)) == 1
        assert [t.kind for t in traces.traces(kind=("ingest", "search"))] == ["search", "ingest"]
        assert [t.trace_id for t in traces.traces(where={"path": "./docs"})] == [first.trace_id]
        assert traces.traces(where={"path": "./other"}) == []
        assert traces.traces(kind="search", where={"path": "./docs"}) == []
        record = traces.trace(first.trace_id[:10])
        assert record is not None
        assert record.trace_id == first.trace_id
        assert (record.kind, record.status, dict(record.attributes)) == ("ingest", "ok", {"path": "./docs"})
        spans = {s["name"]: s for s in record.spans}
        assert set(spans) == {"ingest ./docs", "parse", "parse.pdf"}
        assert spans["parse"]["errors"] == ["bad.pdf: encrypted"]
        assert spans["parse"]["attributes"] == {"items": 3}
        assert spans["parse"]["parent_id"] == spans["ingest ./docs"]["span_id"]
        assert spans["parse.pdf"]["parent_id"] == spans["parse"]["span_id"]

    def test_unknown_and_malformed_ids_are_none(self, traces: TraceStore) -> None:
        assert traces.trace("zz-not-hex") is None
        assert traces.trace("0" * 32) is None
        assert traces.traces() == []

    def test_saving_a_trace_again_replaces_it(self, traces: TraceStore) -> None:
        tracer = Tracer([traces])
        with tracer.trace("answer", "q") as trace:
            pass
        trace.root.attributes["revised"] = True
        traces.save_trace(trace)
        (record,) = traces.traces()
        assert record.attributes["revised"] is True
