"""A/B experiments on live traffic: per-variant metrics from traces and feedback, significance, the stop rule.

Every answer served inside an experiment carries ``experiment`` and ``variant`` on its trace. Rates (supported,
abstention, error, negative feedback) are compared with the first variant (the control) by a two-proportion
z-test (pooled, two-sided), with the minimum detectable effect at 80% power for the traffic seen; latency, tokens
and cost are reported per variant. The stop rule rolls an experiment back when a variant's guard metric is worse
than the control's by more than the margin, significantly, once both have ``min_requests``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

from quarry.stores.base import TraceRecord
from quarry.stores.ops import Experiment, Feedback

__all__ = ["RATES", "Comparison", "VariantStats", "compare_variants", "stop_reason", "two_proportions", "variant_stats"]

RATES = ("supported", "abstention", "error", "negative_feedback")
_Z = NormalDist()


@dataclass
class VariantStats:
    variant: str
    prompt: str
    requests: int = 0
    latencies: list[float] = field(default_factory=list)
    tokens: int = 0
    cost_usd: float = 0.0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RATES, 0))
    rated: int = 0  # answers with a thumbs up or down

    def trials(self, metric: str) -> int:
        return self.rated if metric == "negative_feedback" else self.requests

    def rate(self, metric: str) -> float:
        n = self.trials(metric)
        return self.counts[metric] / n if n else 0.0

    def latency(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def as_dict(self) -> dict[str, object]:
        return {
            "variant": self.variant, "prompt": self.prompt, "requests": self.requests, "rated": self.rated,
            "latency_p50_s": round(self.latency(0.5), 4), "latency_p95_s": round(self.latency(0.95), 4),
            "tokens": self.tokens, "cost_usd": round(self.cost_usd, 6),
            **{f"{m}_rate": round(self.rate(m), 4) for m in RATES},
        }  # fmt: skip


@dataclass(frozen=True)
class Comparison:
    metric: str
    variant: str
    control_rate: float
    variant_rate: float
    difference: float
    p_value: float
    mde: float  # the smallest difference this much traffic detects 80% of the time at the experiment's alpha


def variant_stats(
    experiment: Experiment, traces: Iterable[TraceRecord], feedback: Mapping[str, Sequence[Feedback]]
) -> dict[str, VariantStats]:
    """Per-variant figures from the experiment's answer traces and the feedback given on them."""
    stats = {v.name: VariantStats(v.name, v.prompt) for v in experiment.variants}
    for record in traces:
        attributes = record.attributes
        if attributes.get("experiment") != experiment.name or attributes.get("variant") not in stats:
            continue
        s = stats[str(attributes["variant"])]
        s.requests += 1
        s.latencies.append(record.duration)
        s.counts["supported"] += bool(attributes.get("supported"))
        s.counts["abstention"] += bool(attributes.get("abstained"))
        s.counts["error"] += record.status != "ok"
        for span in record.spans:
            counters = span.get("attributes") or {}
            if isinstance(counters, dict):
                s.tokens += int(counters.get("prompt_tokens", 0) or 0) + int(counters.get("completion_tokens", 0) or 0)
                s.cost_usd += float(counters.get("cost_usd", 0.0) or 0.0)
        ratings = [f.rating for f in feedback.get(record.trace_id, ()) if f.rating is not None]
        if ratings:  # the latest rating a user gave counts
            s.rated += 1
            s.counts["negative_feedback"] += ratings[-1] == "down"
    return stats


def two_proportions(
    x1: int, n1: int, x2: int, n2: int, *, alpha: float = 0.05, power: float = 0.8
) -> tuple[float, float]:
    """(two-sided p-value, minimum detectable effect) of rate x2/n2 against x1/n1 (pooled z-test)."""
    if n1 == 0 or n2 == 0:
        return 1.0, math.inf
    pooled = (x1 + x2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    mde_spread = spread if spread > 0 else math.sqrt(0.25 * (1 / n1 + 1 / n2))
    mde = (_Z.inv_cdf(1 - alpha / 2) + _Z.inv_cdf(power)) * mde_spread
    if spread == 0:
        return 1.0, mde
    z = (x2 / n2 - x1 / n1) / spread
    return 2 * (1 - _Z.cdf(abs(z))), mde


def compare_variants(experiment: Experiment, stats: Mapping[str, VariantStats]) -> list[Comparison]:
    control = stats[experiment.variants[0].name]
    found = []
    for variant in experiment.variants[1:]:
        other = stats[variant.name]
        for metric in RATES:
            p, mde = two_proportions(
                control.counts[metric], control.trials(metric), other.counts[metric], other.trials(metric),
                alpha=experiment.alpha,
            )  # fmt: skip
            diff = other.rate(metric) - control.rate(metric)
            found.append(Comparison(metric, variant.name, control.rate(metric), other.rate(metric), diff, p, mde))
    return found


def stop_reason(experiment: Experiment, stats: Mapping[str, VariantStats]) -> str | None:
    """Why the experiment must roll back now, or None (guard metric worse by > margin, p < alpha, enough traffic)."""
    metric = experiment.guard_metric
    control = stats[experiment.variants[0].name]
    for comparison in compare_variants(experiment, stats):
        if comparison.metric != metric:
            continue
        other = stats[comparison.variant]
        enough = min(control.trials(metric), other.trials(metric)) >= experiment.min_requests
        if enough and comparison.difference > experiment.margin and comparison.p_value < experiment.alpha:
            return (
                f"{metric} of {comparison.variant} {comparison.variant_rate:.3f} vs control "
                f"{comparison.control_rate:.3f} (+{comparison.difference:.3f} > margin {experiment.margin}, "
                f"p={comparison.p_value:.4f}, n={other.trials(metric)}/{control.trials(metric)})"
            )
    return None
