"""``quarry eval answers`` on the bundled samples and their QA file: report, stored runs, cache, gates."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.cli.test_cli import SAMPLES, quarry


@pytest.fixture
def samples_store(isolated_env: Path) -> Path:
    shutil.copytree(SAMPLES, isolated_env / "samples")
    quarry("ingest", "samples", "-c", "s", cwd=isolated_env)
    return isolated_env


def test_eval_answers_reports_stores_caches_compares_and_gates(samples_store: Path) -> None:
    (samples_store / "quarry.toml").write_text('[generation]\nanswer_mode = "extract"\n')
    dataset = "samples/qa.jsonl"
    first = quarry("eval", "answers", "--dataset", dataset, "-c", "s", "--out", "report.html",
                   "--fail-under", "correct=0.5", cwd=samples_store)  # fmt: skip
    assert "mean [95% CI]" in first.stdout and " correct " in first.stdout and "extract (no model)" in first.stdout
    assert "12 questions (10 answerable)" in first.stdout
    run_id = re.search(r"run (\S+) saved", first.stdout)
    assert run_id is not None
    page = (samples_store / "report.html").read_text()
    assert "<svg" in page and "Worst questions" in page
    gates = ["--fail-under", "token_f1=0.99", "--fail-under", "quote_valid=1"]
    again = quarry("eval", "answers", "--dataset", dataset, "-c", "s", "--baseline", run_id.group(1), *gates,
                   cwd=samples_store, check=1)  # fmt: skip
    assert "12 answers from the cache" in again.stdout and "Δ (B − A)" in again.stdout
    assert "gate failed: token_f1:" in again.stderr and "quote_valid" not in again.stderr
    listed = quarry("eval", "runs", cwd=samples_store)
    assert run_id.group(1) in listed.stdout
    bad = quarry("eval", "answers", "--dataset", dataset, "-c", "s", "--fail-under", "correct>1", cwd=samples_store,
                 check=2)  # fmt: skip
    assert "metric=value" in bad.stderr


def test_eval_answers_runs_the_served_pipeline_with_the_local_model(samples_store: Path) -> None:
    done = quarry("eval", "answers", "--dataset", "samples/qa.jsonl", "-c", "s", "--limit", "2", "--out", "r.json",
                  cwd=samples_store)  # fmt: skip
    assert "local:smollm2" in done.stdout and "Latency per answer" in done.stdout
    report = (samples_store / "r.json").read_text()
    assert '"answer_mode": "generate"' in report and '"prompt": "answer@4"' in report
