"""The shipped Prometheus rules pass promtool (syntax and unit tests), and every series the Grafana dashboard and
the rules read is one Quarry exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

from quarry.api.drift_gauges import DriftGauges
from quarry.api.metrics import Metrics
from quarry.api.trace_metrics import TraceMetrics
from tests.conftest import REPO

DEPLOY = REPO / "deploy"
RULES = DEPLOY / "prometheus" / "quarry-alerts.yml"
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "gauge": ("",),
    "summary": ("_sum", "_count"),
}


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: install Debian's prometheus package (.ci/run does)")
    return found


@pytest.mark.parametrize("command", [["check", "rules", RULES.name], ["test", "rules", "quarry-alerts.test.yml"]])
def test_promtool_accepts_the_rules_and_their_unit_tests(command: list[str]) -> None:
    done = subprocess.run([_promtool(), *command], cwd=RULES.parent, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


def _exported() -> set[str]:
    metrics = Metrics(answer_cache=True)
    DriftGauges(metrics.registry)
    TraceMetrics(metrics.registry)
    return {family.name + suffix for family in metrics.registry.collect() for suffix in SUFFIXES[family.type]}


def _read(expressions: list[str]) -> set[str]:
    return {name for expr in expressions for name in re.findall(r"(?<![:\w])(quarry_[a-z0-9_]+)", expr)}


def test_the_dashboard_and_rules_read_only_series_quarry_exports() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "quarry-dashboard.json").read_text())
    panel_exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    rules = yaml.safe_load(RULES.read_text())
    rule_exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    recorded = {rule["record"] for group in rules["groups"] for rule in group["rules"] if "record" in rule}
    used = _read(panel_exprs + rule_exprs)
    exported = _exported()
    assert used - exported == set(), f"not exported: {sorted(used - exported)}"
    assert len(used) >= 15
    for name in re.findall(r"(quarry:[a-z0-9_:]+)", " ".join(panel_exprs)):
        assert name in recorded, name
    titles = " ".join(p["title"] for p in dashboard["panels"]).lower()
    for topic in ("latency", "error", "cost", "tokens", "cache", "abstained", "feedback", "drift"):
        assert topic in titles, topic
