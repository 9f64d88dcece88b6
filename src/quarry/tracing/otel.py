"""Export finished traces through OpenTelemetry (OTLP over HTTP, or any span exporter).

Every span keeps Quarry's own attributes as ``quarry.*``. Model calls also carry the OpenTelemetry GenAI semantic
conventions (``gen_ai.operation.name``, ``gen_ai.system``, ``gen_ai.request.model``, ``gen_ai.usage.input_tokens`` /
``output_tokens``) and are named ``chat <model>``, embedding stages ``embeddings <model>``, so Jaeger, Phoenix or
Langfuse show them as LLM calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from quarry.tracing.spans import Span, Trace

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span as OtelSpan

__all__ = ["OtelSink"]


class OtelSink:
    """A :class:`~quarry.tracing.SpanSink` that replays each trace as OpenTelemetry spans."""

    def __init__(self, exporter: SpanExporter, service_name: str = "quarry") -> None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor

        self._provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        self._provider.add_span_processor(SimpleSpanProcessor(exporter))
        self._tracer = self._provider.get_tracer("quarry")

    @classmethod
    def otlp(cls, endpoint: str, service_name: str = "quarry") -> OtelSink:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return cls(OTLPSpanExporter(endpoint=endpoint), service_name)

    def save_trace(self, trace: Trace) -> None:
        from opentelemetry import trace as otel

        started = {trace.root.span_id: self._start(trace.root, None, trace)}
        for span in trace.spans:  # parents are always created before their children
            if span is trace.root:
                continue
            parent = started.get(span.parent_id or "", started[trace.root.span_id])
            started[span.span_id] = self._start(span, otel.set_span_in_context(parent), trace)
        for span in reversed(trace.spans):
            _finish(started[span.span_id], span)
        self._provider.force_flush()

    def _start(self, span: Span, context: Context | None, trace: Trace) -> OtelSpan:
        attributes = {f"quarry.{k}": v for k, v in span.attributes.items() if _is_scalar(v)}
        attributes |= {"quarry.calls": span.calls, "quarry.trace_id": trace.trace_id, "quarry.kind": trace.kind}
        name, gen_ai = genai_attributes(span)
        return self._tracer.start_span(
            name,
            context=context,
            start_time=int(span.start * 1e9),
            attributes=attributes | gen_ai,
        )


def genai_attributes(span: Span) -> tuple[str, dict[str, str | int | float]]:
    """The span's name and GenAI semantic-convention attributes (none for stages that are not model calls)."""
    model = str(span.attributes.get("model", "") or "")
    if span.name == "llm":
        system, _, bare = model.rpartition(":") if ":" in model else ("local", "", model)
        found: dict[str, str | int | float] = {
            "gen_ai.operation.name": "chat", "gen_ai.system": system or "local",
            "gen_ai.request.model": bare or model, "gen_ai.response.model": bare or model,
        }  # fmt: skip
        for ours, theirs in (
            ("prompt_tokens", "gen_ai.usage.input_tokens"),
            ("completion_tokens", "gen_ai.usage.output_tokens"),
        ):
            if isinstance(span.attributes.get(ours), int | float):
                found[theirs] = int(span.attributes[ours])
        return f"chat {bare or model}".strip(), found
    if span.name == "embed":
        return "embeddings", {"gen_ai.operation.name": "embeddings"}
    return span.name, {}


def _finish(otel_span: OtelSpan, span: Span) -> None:
    from opentelemetry.trace import Status, StatusCode

    if span.errors:
        otel_span.set_status(Status(StatusCode.ERROR, "; ".join(span.errors)[:500]))
    otel_span.end(end_time=int((span.start + span.duration) * 1e9))


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)
