"""Stored evaluations as plain data for browsing (the web console, ``GET /v1/evals``).

Answer runs live as ``<runs folder>/<id>.json`` (:mod:`quarry.evaluation.runs`); retrieval reports as
``<runs folder>/retrieval/<id>.json`` (written by ``quarry eval retrieval``). Both kinds are listed together,
newest first; one run's view carries its metrics with confidence intervals and its worst questions.
"""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path
from typing import Any

from quarry.errors import ConfigError
from quarry.evaluation.answer_report import HEADLINE, worst
from quarry.evaluation.answer_runner import ItemResult, compare_runs
from quarry.evaluation.report import EvalReport
from quarry.evaluation.runs import list_runs, load_run, slug
from quarry.settings import Settings

__all__ = ["compare", "list_evaluations", "runs_folder", "save_retrieval_report", "show_evaluation"]

RETRIEVAL = "retrieval"
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,150}")  # a file stem (or prefix of one): no paths, no glob
WORST = 10


def runs_folder(settings: Settings) -> Path:
    """Where evaluation runs are kept: ``[evaluation] runs_dir``, else ``evals`` beside the store's file."""
    return settings.evaluation.runs_dir or settings.store.path.parent / "evals"


def save_retrieval_report(report: EvalReport, folder: Path) -> Path:
    """Keep a retrieval report with the answer runs (``<folder>/retrieval/<time>-<name>.json``)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    data = {**report.to_dict(), "created": time.time()}
    path = folder / RETRIEVAL / f"{stamp}-{slug(report.name)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def list_evaluations(folder: Path) -> list[dict[str, Any]]:
    """Every stored run of both kinds, newest first: id, kind, name, dataset, time, size and headline metric."""
    found = [
        {
            "id": r.run_id,
            "kind": "answers",
            "name": r.name,
            "dataset": r.dataset,
            "created": r.created,
            "questions": r.questions,
            "headline": "correct",
            "value": r.correct,
        }
        for r in list_runs(folder)
    ]
    for path in sorted((folder / RETRIEVAL).glob("*.json")) if (folder / RETRIEVAL).is_dir() else []:
        data = _read(path)
        if data is None:
            continue
        value = data.get("summary", {}).get("ndcg@10", {}).get("mean")
        found.append({"id": f"{RETRIEVAL}/{path.stem}", "kind": RETRIEVAL, "name": data["name"],
                      "dataset": data["dataset"], "created": float(data.get("created", path.stat().st_mtime)),
                      "questions": data.get("queries", 0), "headline": "ndcg@10", "value": value})  # fmt: skip
    return sorted(found, key=lambda r: r["created"], reverse=True)


def show_evaluation(folder: Path, run_id: str) -> dict[str, Any]:
    """One run: metrics with 95% CIs, timing and cost, and its worst questions with what the model saw."""
    if run_id.startswith(f"{RETRIEVAL}/"):
        return _retrieval(folder, run_id)
    run = load_run(_safe_id(run_id), folder)
    metrics = [*[m for m in HEADLINE if m in run.summary], *sorted(m for m in run.summary if m not in HEADLINE)]
    return {
        "id": run_id, "kind": "answers", "name": run.name, "dataset": run.dataset, "created": run.created,
        "questions": len(run.results), "config": run.config, "judge": _finite(run.judge), "seconds": run.seconds,
        "cost_usd": run.cost_usd, "latency_s": run.latency.to_dict(), "ttft_s": run.ttft.to_dict(),
        "metrics": [{"metric": m, **_finite(run.summary[m].as_dict())} for m in metrics],
        "histograms": {"token_f1": [r.metrics.get("token_f1") for r in run.results if r.item.answerable]},
        "worst": [_question(r) for r in worst(run, WORST)],
    }  # fmt: skip


def compare(folder: Path, baseline: str, candidate: str) -> dict[str, Any]:
    """``candidate`` against ``baseline`` on every metric both scored: means, difference with CI, paired p."""
    a, b = load_run(_safe_id(baseline), folder), load_run(_safe_id(candidate), folder)
    metrics = [m for m in [*HEADLINE, *sorted(a.summary)] if m in a.summary and m in b.summary]
    rows = compare_runs(a, b, list(dict.fromkeys(metrics)))
    return {"baseline": baseline, "candidate": candidate, "rows": [_finite(c.to_dict()) for c in rows]}


def _question(r: ItemResult) -> dict[str, Any]:
    outcome = r.outcome
    return {
        "question": r.item.question, "answers": list(r.item.answers), "answerable": r.item.answerable,
        "answer": outcome.text, "abstained": outcome.abstained, "supported": outcome.supported,
        "metrics": {k: v for k, v in r.metrics.items() if v is not None},
        "context": [{"document": p.document_uri, "text": p.text[:600]} for p in outcome.context[:5]],
    }  # fmt: skip


def _retrieval(folder: Path, run_id: str) -> dict[str, Any]:
    path = folder / RETRIEVAL / f"{_safe_id(run_id.split('/', 1)[1])}.json"
    data = _read(path) if path.is_file() else None
    if data is None:
        raise ConfigError(f"no evaluation run {run_id!r}", key="run", hint="ids are listed by GET /v1/evals")
    queries = [q for q in data.get("per_query", []) if "ndcg@10" in q.get("scores", {})]
    worst_queries = sorted(queries, key=lambda q: q["scores"]["ndcg@10"])[:WORST]
    return {
        "id": run_id, "kind": RETRIEVAL, "name": data["name"], "dataset": data["dataset"],
        "created": data.get("created"), "questions": data.get("queries", 0), "latency_ms": data.get("latency_ms"),
        "metrics": [{"metric": m, **_finite(ci)} for m, ci in data.get("summary", {}).items()],
        "histograms": {"ndcg@10": [q["scores"]["ndcg@10"] for q in queries]},
        "worst": [{"question": q["query"], "metrics": q["scores"], "ranking": q["ranking"][:5]} for q in worst_queries],
    }  # fmt: skip


def _safe_id(run_id: str) -> str:
    if not RUN_ID.fullmatch(run_id):
        raise ConfigError(f"{run_id!r} is not a run id", key="run", hint="ids are listed by GET /v1/evals")
    return run_id


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "name" in data and "dataset" in data else None


def _finite(values: dict[str, Any]) -> dict[str, Any]:
    """JSON has no NaN: undefined figures (a metric no question scored) become null."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        out[key] = _finite(value) if isinstance(value, dict) else None if _nan(value) else value
    return out


def _nan(value: object) -> bool:
    return isinstance(value, float) and not math.isfinite(value)
