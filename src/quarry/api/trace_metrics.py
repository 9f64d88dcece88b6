"""Prometheus series read off finished traces: time per pipeline stage, and tokens and cost per collection."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from quarry.tracing import Trace

__all__ = ["TraceMetrics"]

_STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class TraceMetrics:
    """A span sink: every finished trace observes its stages (by trace kind) and its model usage (by collection)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.stages = Histogram(
            "quarry_stage_seconds", "time in each pipeline stage (parse, embed, retrieve, llm, guard.*, …)",
            ["kind", "stage"], buckets=_STAGE_BUCKETS, registry=r,
        )  # fmt: skip
        self.tokens = Counter(
            "quarry_collection_tokens", "model tokens by collection and model", ["collection", "model"], registry=r
        )
        self.cost = Counter("quarry_collection_cost_usd", "model cost in USD by collection", ["collection"], registry=r)

    def save_trace(self, trace: Trace) -> None:
        collection = str(trace.root.attributes.get("collection", "") or "-")
        for span in trace.spans:
            if span is trace.root:
                continue
            self.stages.labels(trace.kind, span.name).observe(span.duration)
            used = int(span.attributes.get("prompt_tokens", 0) or 0) + int(
                span.attributes.get("completion_tokens", 0) or 0
            )
            if used:
                self.tokens.labels(collection, str(span.attributes.get("model", "unknown"))).inc(used)
            cost = float(span.attributes.get("cost_usd", 0.0) or 0.0)
            if cost:
                self.cost.labels(collection).inc(cost)
