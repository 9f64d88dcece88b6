from __future__ import annotations

import time

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from quarry.tracing import Trace, Tracer
from quarry.tracing.otel import OtelSink


class Collect:
    def __init__(self) -> None:
        self.traces: list[Trace] = []

    def save_trace(self, trace: Trace) -> None:
        self.traces.append(trace)


def test_stage_spans_accumulate_calls_durations_and_counters() -> None:
    sink = Collect()
    with Tracer([sink]).trace("ingest", "folder x", collection="c") as trace:
        for _ in range(3):
            with trace.stage("embed", chunks=10):
                time.sleep(0.002)
        with trace.stage("store", documents=2):
            pass
    (saved,) = sink.traces
    names = [s.name for s in saved.spans]
    assert names == ["folder x", "embed", "store"]
    embed = saved.spans[1]
    assert embed.calls == 3
    assert embed.attributes["chunks"] == 30
    assert embed.duration >= 0.006
    assert embed.parent_id == saved.root.span_id
    assert saved.root.duration >= embed.duration
    assert saved.root.attributes == {"collection": "c"}


def test_errors_are_recorded_on_the_stage_and_the_trace_is_still_saved() -> None:
    sink = Collect()
    with pytest.raises(ValueError, match="boom"), Tracer([sink]).trace("search", "q") as trace:
        trace.error("parse", "a.pdf: encrypted")
        with trace.stage("retrieve"):
            raise ValueError("boom")
    (saved,) = sink.traces
    parse, retrieve = saved.spans[1], saved.spans[2]
    assert parse.errors == ["a.pdf: encrypted"]
    assert parse.calls == 0
    assert retrieve.status == "error"
    assert saved.root.errors == ["ValueError: boom"]


def test_otel_sink_exports_root_and_stage_spans_with_parentage() -> None:
    exporter = InMemorySpanExporter()
    with Tracer([OtelSink(exporter)]).trace("ingest", "run", collection="c") as trace:
        with trace.stage("parse", units=4):
            pass
        trace.error("parse", "bad.docx: corrupt")
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"run", "parse"}
    root, parse = spans["run"], spans["parse"]
    assert parse.parent is not None and parse.parent.span_id == root.context.span_id
    assert parse.context.trace_id == root.context.trace_id
    assert parse.attributes is not None and parse.attributes["quarry.units"] == 4
    assert not parse.status.is_ok
    assert root.end_time is not None and root.start_time is not None and root.end_time >= root.start_time


def test_otel_model_calls_follow_the_genai_semantic_conventions() -> None:
    """A real model call through the Traced wrapper (scripted model) exports as a GenAI chat span."""
    from quarry.llm.traced import Traced
    from quarry.testing.chat import ScriptedChatModel
    from quarry.types import Message

    exporter = InMemorySpanExporter()
    with Tracer([OtelSink(exporter)]).trace("answer", "q", collection="c") as trace:
        Traced(ScriptedChatModel(["Hello there."]), trace).complete([Message("user", "Say hello")])
        with trace.stage("embed", chunks=2):
            pass
    spans = {s.name: s for s in exporter.get_finished_spans()}
    chat = next(s for name, s in spans.items() if name.startswith("chat "))
    assert chat.attributes is not None
    assert chat.attributes["gen_ai.operation.name"] == "chat"
    assert chat.attributes["gen_ai.request.model"] and chat.attributes["gen_ai.system"]
    assert chat.attributes["gen_ai.usage.input_tokens"] > 0 and chat.attributes["gen_ai.usage.output_tokens"] > 0
    assert (
        spans["embeddings"].attributes is not None
        and spans["embeddings"].attributes["gen_ai.operation.name"] == "embeddings"
    )
