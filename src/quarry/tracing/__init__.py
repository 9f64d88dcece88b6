"""Spans for every stage, stored locally and optionally exported via OpenTelemetry."""

from quarry.tracing.spans import Span, SpanSink, Trace, Tracer

__all__ = ["Span", "SpanSink", "Trace", "Tracer"]
