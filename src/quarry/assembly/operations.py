"""Experiments read back from what the system recorded: traces, feedback, and the stop rule applied."""

from __future__ import annotations

from dataclasses import dataclass

from quarry.errors import ConfigError
from quarry.evaluation.experiments import Comparison, VariantStats, compare_variants, stop_reason, variant_stats
from quarry.stores.base import TraceStore
from quarry.stores.ops import Experiment, ExperimentStore, FeedbackStore

__all__ = ["TRACES_READ", "ExperimentReport", "experiment_report"]

TRACES_READ = 100_000  # the newest answer traces of one experiment a report reads (selected inside the store)


@dataclass(frozen=True)
class ExperimentReport:
    experiment: Experiment
    stats: dict[str, VariantStats]
    comparisons: list[Comparison]
    stopped_now: bool = False  # the stop rule rolled it back while making this report

    def as_dict(self) -> dict[str, object]:
        e = self.experiment
        return {
            "name": e.name, "prompt": e.prompt, "status": e.status, "reason": e.reason,
            "guard_metric": e.guard_metric, "margin": e.margin, "min_requests": e.min_requests, "alpha": e.alpha,
            "variants": [{"weight": v.weight, "settings": dict(v.settings), **self.stats[v.name].as_dict()}
                         for v in e.variants],
            "comparisons": [c.__dict__ for c in self.comparisons],
        }  # fmt: skip


def experiment_report(
    name: str, experiments: ExperimentStore, traces: TraceStore, feedback: FeedbackStore, *, apply_stop: bool = True
) -> ExperimentReport:
    """Per-variant figures and tests; a running experiment that meets its stop rule is rolled back first."""
    experiment = experiments.get(name)
    if experiment is None:
        names = ", ".join(e.name for e in experiments.list()) or "none yet"
        raise ConfigError(f"no experiment {name!r}", key="experiment", hint=f"experiments: {names}")
    records = traces.traces(limit=TRACES_READ, kind="answer", where={"experiment": name})
    stats = variant_stats(experiment, records, feedback.for_traces([r.trace_id for r in records]))
    stopped = False
    if apply_stop and experiment.status == "running":
        reason = stop_reason(experiment, stats)
        if reason is not None:
            experiment = experiments.end(name, "rolled_back", f"stop rule: {reason}")
            stopped = True
    return ExperimentReport(experiment, stats, compare_variants(experiment, stats), stopped)
