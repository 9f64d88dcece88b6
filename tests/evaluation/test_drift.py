"""Drift: quiet between two halves of SciFact's queries, loud between SciFact and questions about an essay
and software documentation (the real MiniLM embeds them); PSI on known distributions; the command end to end."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np

from quarry.assembly import build
from quarry.embeddings import Embedder
from quarry.evaluation.drift import drift_report, psi
from quarry.ingest.sources import FolderSource
from quarry.settings import Settings, StoreSettings
from quarry.stores.base import TraceRecord
from quarry.types import freeze
from tests.cli.test_cli import SAMPLES
from tests.conftest import REPO, SCIFACT


def _scifact() -> list[str]:
    with gzip.open(SCIFACT / "queries.jsonl.gz", "rt", encoding="utf-8") as lines:
        return [json.loads(line)["text"] for line in lines][:600]


def _other() -> list[str]:
    rows = [json.loads(line) for line in (REPO / "bench" / "qa" / "dev.jsonl").read_text().splitlines()]
    return [r["question"] for r in rows if not str(r["gold_docs"][0])[:1].isdigit()]


def _traces(queries: list[str]) -> list[TraceRecord]:
    return [TraceRecord(f"{i:032x}", "search", q, float(i), 0.01, "ok", (), freeze({})) for i, q in enumerate(queries)]


def test_two_halves_of_one_query_set_do_not_drift_and_another_domain_does(minilm: Embedder) -> None:
    queries = _scifact()
    random.Random(0).shuffle(queries)
    same = drift_report(_traces(queries[:300]), _traces(queries[300:600]), minilm.embed)
    assert not same.drifted, same.as_dict()
    shifted = drift_report(_traces(queries[:300]), _traces(_other()), minilm.embed)
    assert shifted.drifted and shifted.mmd_p < 0.01, shifted.as_dict()
    assert shifted.embedding_distance > 5 * same.embedding_distance
    assert {"author"} <= {term for term, _ in shifted.new_terms}


def test_psi_is_near_zero_for_one_distribution_and_large_for_a_shifted_one() -> None:
    rng = np.random.default_rng(3)
    assert psi(rng.normal(0.6, 0.1, 2000), rng.normal(0.6, 0.1, 2000)) < 0.02
    assert psi(rng.normal(0.6, 0.1, 2000), rng.normal(0.45, 0.1, 2000)) > 0.25


def test_drift_report_command_reads_stored_traces(tmp_path: Path, minilm: Embedder) -> None:
    quarry = build(Settings(store=StoreSettings(path=tmp_path / ".quarry" / "quarry.db")))
    quarry.__dict__["embedder"] = minilm
    assert quarry.ingestor.run(FolderSource(SAMPLES, max_bytes=10**7), "default").ok
    for question in _scifact()[:60] + _other()[:60]:  # the older window: claims; the newer one: other questions
        quarry.searcher.search(question, "default", k=3)
    quarry.close()
    done = subprocess.run(
        [sys.executable, "-m", "quarry", "--home", str(tmp_path), "drift", "report", "--current", "60",
         "--reference", "60", "--out", str(tmp_path / "drift.html"), "--json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr  # drift found
    report = json.loads(done.stdout)
    assert report["drifted"] and report["current_traces"] == 60 and "top_cosine" in report["psi"]
    page = (tmp_path / "drift.html").read_text()
    assert "drift detected" in page and "<svg" in page


def test_too_few_traces_is_said_plainly(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "quarry", "--home", str(tmp_path), "drift", "report", "--current", "10"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0 and "too few" in done.stdout
