"""Run an answering system over a QA set and measure it: per-question metrics, means with bootstrap CIs,
latency, tokens and cost, paired comparisons against a baseline run, and gates for CI.

Outcomes are cached by (question, the system's configuration key) in an :class:`AnswerCache`, so re-running an
unchanged configuration costs no model calls; the configuration key must name everything the answer depends on
(``quarry.assembly`` builds it from the settings, the model and the collection's write generation).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from quarry.errors import ConfigError
from quarry.evaluation.answer_metrics import ANSWER_METRICS, item_metrics
from quarry.evaluation.outcome import AnswerOutcome, AnswerSystem, outcome_from_dict, outcome_to_dict
from quarry.evaluation.qa import QAItem, QASet
from quarry.evaluation.report import Comparison, Latency
from quarry.evaluation.stats import RESAMPLES, SEED, ConfidenceInterval, bootstrap_ci, paired_test
from quarry.types import content_hash

__all__ = [
    "AnswerCache",
    "AnswerRun",
    "ItemResult",
    "compare_runs",
    "failed_gates",
    "parse_gate",
    "run_answers",
    "summarise",
]

Progress = Callable[[int, int, "ItemResult"], None]


class AnswerCache:
    """Outcomes by (configuration key, question) in one SQLite file; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS outcomes (key TEXT PRIMARY KEY, body TEXT NOT NULL)")
        self._lock = threading.Lock()

    @staticmethod
    def key(config_key: str, item: QAItem) -> str:
        return content_hash(f"{config_key}\n{item.question}")

    def get(self, key: str) -> AnswerOutcome | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM outcomes WHERE key = ?", (key,)).fetchone()
        return outcome_from_dict(json.loads(row[0])) if row else None

    def put(self, key: str, outcome: AnswerOutcome) -> None:
        body = json.dumps(outcome_to_dict(outcome), ensure_ascii=False)
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO outcomes (key, body) VALUES (?, ?)", (key, body))

    def close(self) -> None:
        self._db.close()


@dataclass(frozen=True, slots=True)
class ItemResult:
    item: QAItem
    outcome: AnswerOutcome
    metrics: dict[str, float | None]
    cached: bool = False
    judged: dict[str, float | None] = field(default_factory=dict)

    def scores(self) -> dict[str, float | None]:
        return {**self.metrics, **self.judged}


@dataclass(frozen=True, slots=True)
class AnswerRun:
    """One system over one QA set. ``summary[m]`` is metric ``m``'s mean over the questions it applies to,
    with a 95% bootstrap CI; ``config`` describes the system (settings, model, prompt) for the report."""

    name: str
    dataset: str
    fingerprint: str
    config: dict[str, Any]
    results: tuple[ItemResult, ...]
    summary: dict[str, ConfidenceInterval]
    latency: Latency
    ttft: Latency
    seconds: float
    cost_usd: float
    prompt_tokens: int
    completion_tokens: int
    cached: int
    created: float = field(default_factory=time.time)
    judge: dict[str, Any] = field(default_factory=dict)

    def scores(self, metric: str) -> dict[str, float]:
        """Question id → score, for the questions ``metric`` applies to."""
        found = {r.item.id: r.scores().get(metric) for r in self.results}
        return {qid: float(v) for qid, v in found.items() if v is not None}

    def mean(self, metric: str) -> float | None:
        ci = self.summary.get(metric)
        return None if ci is None else ci.mean


def _answer(
    system: AnswerSystem, item: QAItem, config_key: str, cache: AnswerCache | None
) -> tuple[AnswerOutcome, bool]:
    key = AnswerCache.key(config_key, item) if cache is not None and config_key else ""
    if key and cache is not None:
        cached = cache.get(key)
        if cached is not None:
            return cached, True
    outcome = system(item)
    if key and cache is not None:
        cache.put(key, outcome)
    return outcome, False


def summarise(
    results: Sequence[ItemResult], *, resamples: int = RESAMPLES, seed: int = SEED
) -> dict[str, ConfidenceInterval]:
    """Each metric's mean with a 95% bootstrap CI over the questions it applies to."""
    names = list(ANSWER_METRICS) + sorted({m for r in results for m in r.judged})
    summary = {}
    for metric in names:
        values = [v for r in results if (v := r.scores().get(metric)) is not None]
        if values:
            summary[metric] = bootstrap_ci(values, resamples=resamples, seed=seed)
    return summary


def run_answers(
    qa: QASet,
    system: AnswerSystem,
    *,
    name: str,
    config: Mapping[str, Any] | None = None,
    config_key: str = "",
    cache: AnswerCache | None = None,
    progress: Progress | None = None,
) -> AnswerRun:
    """Answer every question of ``qa`` with ``system`` (through ``cache`` when given) and score it."""
    began = time.perf_counter()
    results: list[ItemResult] = []
    for done, item in enumerate(qa.items, 1):
        outcome, cached = _answer(system, item, config_key, cache)
        results.append(ItemResult(item, outcome, item_metrics(item, outcome), cached))
        if progress is not None:
            progress(done, len(qa.items), results[-1])
    return build_run(qa, results, name=name, config=config, seconds=time.perf_counter() - began)


def build_run(
    qa: QASet,
    results: Sequence[ItemResult],
    *,
    name: str,
    config: Mapping[str, Any] | None = None,
    seconds: float = 0.0,
    judge: Mapping[str, Any] | None = None,
) -> AnswerRun:
    fresh = [r.outcome for r in results if not r.cached]
    return AnswerRun(
        name=name,
        dataset=qa.name,
        fingerprint=qa.fingerprint(),
        config=dict(config or {}),
        results=tuple(results),
        summary=summarise(results),
        latency=Latency.of([o.seconds for o in fresh]),
        ttft=Latency.of([o.ttft_s for o in fresh if o.ttft_s is not None]),
        seconds=seconds,
        cost_usd=sum(r.outcome.cost_usd for r in results),
        prompt_tokens=sum(r.outcome.prompt_tokens for r in results),
        completion_tokens=sum(r.outcome.completion_tokens for r in results),
        cached=sum(r.cached for r in results),
        judge=dict(judge or {}),
    )


def compare_runs(baseline: AnswerRun, candidate: AnswerRun, metrics: Sequence[str]) -> list[Comparison]:
    """Paired comparisons of ``candidate`` against ``baseline`` on the questions both scored: the mean
    difference with a bootstrap CI and a sign-flip randomization test p-value (exact for binary metrics
    on small sets, like an exact McNemar test)."""
    if baseline.fingerprint != candidate.fingerprint:
        raise ConfigError(
            f"runs {baseline.name!r} and {candidate.name!r} were made on different questions",
            key="baseline",
            hint="compare runs of the same QA file and split",
        )
    found = []
    for metric in metrics:
        a, b = baseline.scores(metric), candidate.scores(metric)
        shared = sorted(set(a) & set(b))
        if not shared:
            continue
        test = paired_test(np.array([a[q] for q in shared]), np.array([b[q] for q in shared]))
        found.append(
            Comparison(
                metric,
                baseline.name,
                candidate.name,
                float(np.mean([a[q] for q in shared])),
                float(np.mean([b[q] for q in shared])),
                test,
            )
        )
    return found


def parse_gate(text: str) -> tuple[str, float]:
    """``"correct=0.6"`` → ``("correct", 0.6)``; a clear error otherwise."""
    metric, sep, value = text.partition("=")
    try:
        threshold = float(value)
    except ValueError:
        threshold = float("nan")
    if not sep or not metric.strip() or threshold != threshold:
        raise ConfigError(
            f"cannot read the gate {text!r}", key="fail_under", hint="write metric=value, e.g. correct=0.6"
        )
    return metric.strip(), threshold


def failed_gates(run: AnswerRun, gates: Sequence[tuple[str, float]]) -> list[str]:
    """A line per gate the run misses (metric mean below its threshold); a metric the run lacks fails too."""
    failures = []
    for metric, threshold in gates:
        mean = run.mean(metric)
        if mean is None:
            failures.append(f"{metric}: not measured in this run (known: {', '.join(run.summary)})")
        elif mean < threshold:
            failures.append(f"{metric}: {mean:.3f} < {threshold}")
    return failures
