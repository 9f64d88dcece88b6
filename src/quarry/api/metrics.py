"""Prometheus metrics, one registry per app (so several apps can live in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest

from quarry.generation import Answer
from quarry.pipeline import IngestReport
from quarry.types import Usage

__all__ = ["Metrics"]

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self, *, answer_cache: bool = False) -> None:
        self.answer_cache_on = answer_cache  # count answer cache misses only when there is a cache
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series (they double each counter)
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "quarry_http_requests",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.errors = Counter(
            "quarry_http_errors", "error responses by stable error code", ["route", "code"], registry=r
        )
        self.latency = Histogram(
            "quarry_http_request_seconds",
            "time to the last response byte",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens = Counter("quarry_llm_tokens", "model tokens used", ["model", "kind"], registry=r)
        self.cost = Counter("quarry_llm_cost_usd", "model cost in USD (per llm.prices)", ["model"], registry=r)
        self.ingest_units = Counter("quarry_ingest_units", "source units ingested by status", ["status"], registry=r)
        self.ingest_chunks = Counter("quarry_ingest_chunks", "chunks written by ingestion", registry=r)
        self.ingest_jobs = Counter("quarry_ingest_jobs", "ingest jobs finished by status", ["status"], registry=r)
        self.search_cache = Counter(
            "quarry_search_cache_lookups", "search result cache lookups by result (hit, miss)", ["result"], registry=r
        )

        self.answer_cache = Counter(
            "quarry_answer_cache_lookups", "semantic answer cache lookups by result (hit, miss)", ["result"], registry=r
        )
        self.feedback = Counter("quarry_feedback", "user feedback on answers by rating", ["rating"], registry=r)
        self.answers = Counter(
            "quarry_answers", "answers by outcome and prompt version", ["outcome", "prompt"], registry=r
        )
        self.guard_flags = Counter(
            "quarry_guard_flags", "answers on which a guard fired, by guard; refusals by refused", ["guard"], registry=r
        )

    def observe_feedback(self, rating: str | None) -> None:
        self.feedback.labels(rating or "none").inc()

    def observe_answer(self, answer: Answer) -> None:
        """Tokens and cost, the answer cache's hit or miss (when the cache is on), and the guards that fired."""
        self.observe_usage(answer.usage, answer.model)
        outcome = (
            "refused"
            if answer.refused
            else "abstained"
            if answer.abstained
            else ("supported" if answer.supported else "unsupported")
        )
        self.answers.labels(outcome, answer.prompt_version).inc()
        if self.answer_cache_on and not answer.refused:
            self.answer_cache.labels("hit" if answer.cached else "miss").inc()
        for guard in answer.guard_flags:
            self.guard_flags.labels(guard).inc()
        if answer.refused:
            self.guard_flags.labels("refused").inc()

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_cache(self, hit: bool) -> None:
        self.search_cache.labels("hit" if hit else "miss").inc()

    def observe_error(self, route: str, code: str) -> None:
        self.errors.labels(route, code).inc()

    def observe_usage(self, usage: Usage, model: str = "") -> None:
        name = usage.model or model or "unknown"
        self.tokens.labels(name, "prompt").inc(usage.prompt_tokens)
        self.tokens.labels(name, "completion").inc(usage.completion_tokens)
        self.cost.labels(name).inc(usage.cost_usd)

    def observe_ingest(self, report: IngestReport | None, status: str) -> None:
        self.ingest_jobs.labels(status).inc()
        if report is None:
            return
        for name in ("new", "changed", "unchanged", "deleted", "failed"):
            self.ingest_units.labels(name).inc(getattr(report, name))
        self.ingest_chunks.inc(report.chunks_written)

    def render(self) -> bytes:
        return generate_latest(self.registry)
