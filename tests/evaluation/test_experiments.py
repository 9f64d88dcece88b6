"""Experiments: sticky hash assignment at the configured split, the two-proportion test's error rates on
simulated traffic, and the stop rule on simulated traces and feedback."""

from __future__ import annotations

import random
from collections import Counter

from quarry.evaluation.experiments import stop_reason, two_proportions, variant_stats
from quarry.generation.registry import assign_variant
from quarry.stores.base import TraceRecord
from quarry.stores.ops import Experiment, Feedback, Variant
from quarry.types import freeze

SPLIT = Experiment(
    "split", "answer", (Variant("a", "answer@4", 70), Variant("b", "answer@5", 20), Variant("c", "answer@6", 10))
)


def test_assignment_is_sticky_and_follows_the_weights_over_10k_users() -> None:
    users = [f"key-1:user-{n}" for n in range(10_000)]
    first = {u: assign_variant(SPLIT, u).name for u in users}
    assert all(assign_variant(SPLIT, u).name == first[u] for u in users)  # the same user, the same variant
    shares = Counter(first.values())
    for variant, expected in (("a", 0.7), ("b", 0.2), ("c", 0.1)):
        assert abs(shares[variant] / len(users) - expected) < 0.015, shares  # ~3 standard errors
    other = Experiment("other", "answer", SPLIT.variants)
    moved = sum(assign_variant(other, u).name != first[u] for u in users)
    assert moved > 3000  # independent between experiments: not the same users in the same arms


def test_the_test_holds_its_false_positive_rate_and_finds_a_real_effect() -> None:
    rng = random.Random(7)
    alpha, runs, n = 0.05, 600, 400

    def rate_of_significance(p1: float, p2: float) -> float:
        hits = 0
        for _ in range(runs):
            x1 = sum(rng.random() < p1 for _ in range(n))
            x2 = sum(rng.random() < p2 for _ in range(n))
            hits += two_proportions(x1, n, x2, n, alpha=alpha)[0] < alpha
        return hits / runs

    assert 0.02 <= rate_of_significance(0.3, 0.3) <= 0.08  # no effect: about alpha
    _, mde = two_proportions(120, n, 120, n, alpha=alpha)
    assert 0.08 < mde < 0.11  # 80% power needs ~0.09 at p=0.3, n=400 per arm
    assert rate_of_significance(0.3, 0.3 + mde) > 0.72  # an effect of the reported MDE: found ~80% of the time


def _traffic(
    experiment: Experiment, bad: str, n: int, seed: int
) -> tuple[list[TraceRecord], dict[str, list[Feedback]]]:
    rng = random.Random(seed)
    traces, feedback = [], {}
    for i in range(n):
        variant = assign_variant(experiment, f"user-{i}")
        trace_id = f"{i:032x}"
        attributes = freeze({"experiment": experiment.name, "variant": variant.name, "supported": True})
        traces.append(TraceRecord(trace_id, "answer", "q", float(i), 0.5, "ok", (), attributes))
        down = rng.random() < (0.4 if variant.name == bad else 0.1)
        feedback[trace_id] = [Feedback(str(i), trace_id, "down" if down else "up", None, "", "", "k", (), 0.0)]
    return traces, feedback


def test_the_stop_rule_fires_on_a_worse_variant_and_not_on_equal_ones() -> None:
    experiment = Experiment("guarded", "answer", (Variant("control", "answer@4", 1), Variant("new", "answer@5", 1)),
                            guard_metric="negative_feedback", margin=0.05, min_requests=100)  # fmt: skip
    traces, feedback = _traffic(experiment, bad="new", n=600, seed=1)
    reason = stop_reason(experiment, variant_stats(experiment, traces, feedback))
    assert reason is not None and reason.startswith("negative_feedback of new")
    traces, feedback = _traffic(experiment, bad="nobody", n=600, seed=2)
    assert stop_reason(experiment, variant_stats(experiment, traces, feedback)) is None
    few, few_feedback = _traffic(experiment, bad="new", n=120, seed=3)  # under min_requests per variant
    assert stop_reason(experiment, variant_stats(experiment, few, few_feedback)) is None
