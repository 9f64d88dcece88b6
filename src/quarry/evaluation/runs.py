"""Stored answer-evaluation runs: one JSON file per run in a folder (``<store folder>/evals`` by default).

A run file holds everything needed to compare against it later — every question, outcome and score, the
configuration and the dataset fingerprint — so ``--baseline`` can name a run id (or a unique prefix of one),
or any run file's path. Summaries are recomputed on load (they are deterministic), so files stay small.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from quarry.errors import ConfigError
from quarry.evaluation.answer_runner import AnswerRun, ItemResult, build_run
from quarry.evaluation.outcome import outcome_from_dict, outcome_to_dict
from quarry.evaluation.qa import QAItem, QASet

__all__ = ["RunInfo", "list_runs", "load_run", "run_to_dict", "save_run", "slug"]

FORMAT = 1


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    name: str
    dataset: str
    created: float
    questions: int
    correct: float | None
    path: Path


def _item_dict(item: QAItem) -> dict[str, Any]:
    data = asdict(item)
    data["metadata"] = dict(item.metadata)
    return data


def run_to_dict(run: AnswerRun) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "name": run.name,
        "dataset": run.dataset,
        "fingerprint": run.fingerprint,
        "created": run.created,
        "config": run.config,
        "judge": run.judge,
        "seconds": run.seconds,
        "summary": {m: ci.as_dict() for m, ci in run.summary.items()},
        "latency_s": run.latency.to_dict(),
        "ttft_s": run.ttft.to_dict(),
        "cost_usd": run.cost_usd,
        "results": [
            {
                "item": _item_dict(r.item),
                "outcome": outcome_to_dict(r.outcome),
                "metrics": r.metrics,
                "judged": r.judged,
                "cached": r.cached,
            }
            for r in run.results
        ],
    }


def slug(text: str) -> str:
    """A run name as a file-name part."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "run"


def save_run(run: AnswerRun, folder: Path) -> Path:
    """Write ``run`` as ``<folder>/<time>-<name>.json``; the file name without ``.json`` is its run id."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(run.created))
    path = folder / f"{stamp}-{slug(run.name)}.json"
    path.write_text(json.dumps(run_to_dict(run), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _from_dict(data: dict[str, Any]) -> AnswerRun:
    results = [
        ItemResult(
            item=QAItem(
                **{
                    **r["item"],
                    "answers": tuple(r["item"]["answers"]),
                    "gold_docs": tuple(r["item"]["gold_docs"]),
                    "gold_passages": tuple(r["item"]["gold_passages"]),
                }
            ),
            outcome=outcome_from_dict(r["outcome"]),
            metrics=r["metrics"],
            cached=bool(r.get("cached", False)),
            judged=r.get("judged", {}),
        )
        for r in data["results"]
    ]
    qa = QASet(data["dataset"], tuple(r.item for r in results))
    run = build_run(
        qa,
        results,
        name=data["name"],
        config=data.get("config"),
        seconds=data.get("seconds", 0.0),
        judge=data.get("judge"),
    )
    object.__setattr__(run, "created", float(data.get("created", 0.0)))
    object.__setattr__(run, "fingerprint", data.get("fingerprint", run.fingerprint))
    return run


def load_run(ref: str | Path, folder: Path | None = None) -> AnswerRun:
    """The run at path ``ref``, or the run in ``folder`` whose id is ``ref`` or starts with it."""
    path = Path(ref)
    if not path.is_file() and folder is not None:
        matches = sorted(folder.glob(f"{ref}*.json")) if folder.is_dir() else []
        if len(matches) > 1:
            raise ConfigError(
                f"run id {ref!r} is ambiguous",
                key="baseline",
                hint="matches: " + ", ".join(m.stem for m in matches[:5]),
            )
        path = matches[0] if matches else path
    if not path.is_file():
        raise ConfigError(
            f"no evaluation run {str(ref)!r}",
            key="baseline",
            hint="give a run file's path or an id from `quarry eval runs`",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return _from_dict(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is not an answer-evaluation run: {exc}", key="baseline") from exc


def list_runs(folder: Path) -> list[RunInfo]:
    """Stored runs, newest first (files that are not runs are skipped)."""
    found = []
    for path in sorted(folder.glob("*.json"), reverse=True) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            correct = data.get("summary", {}).get("correct", {}).get("mean")
            found.append(
                RunInfo(
                    path.stem,
                    data["name"],
                    data["dataset"],
                    float(data["created"]),
                    len(data["results"]),
                    correct,
                    path,
                )
            )
        except (ValueError, KeyError, TypeError):
            continue
    return found
