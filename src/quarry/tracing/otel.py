"""Export finished traces through OpenTelemetry (OTLP over HTTP, or any span exporter)."""

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
        return self._tracer.start_span(
            span.name,
            context=context,
            start_time=int(span.start * 1e9),
            attributes=attributes,
        )


def _finish(otel_span: OtelSpan, span: Span) -> None:
    from opentelemetry.trace import Status, StatusCode

    if span.errors:
        otel_span.set_status(Status(StatusCode.ERROR, "; ".join(span.errors)[:500]))
    otel_span.end(end_time=int((span.start + span.duration) * 1e9))


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)
