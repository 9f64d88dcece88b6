"""``quarry tune embeddings`` and ``quarry models`` as a user runs them, on a small real SciFact slice."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from quarry.cli.app import app

from .conftest import build_slice


def test_tune_embeddings_then_promote_and_roll_back_from_the_command_line(datasets: Path, tmp_path: Path) -> None:
    data = build_slice(datasets / "scifact", tmp_path / "data", train=10, test=8, distractors=12)
    env = {"QUARRY_HOME": str(tmp_path / "home")}
    runner = CliRunner()

    said: list[str] = []

    def quarry(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == code, result.output
        said.append(result.stderr)
        return result.stdout

    quarry("ingest", str(data / "corpus.jsonl"), "-c", "mini")
    out = json.loads(quarry("tune", "embeddings", "-c", "mini", "--queries", str(data), "--eval", str(data),
                            "--max-steps", "2", "--batch-size", "4", "--no-feedback", "--titles", "5",
                            "--synthetic", "2", "--synthetic-model", "smollm2", "--miner", "dense", "--skip", "1",
                            "--mini-batch", "3", "--json"))  # fmt: skip
    assert "synthetic: kept" in said[-1] and "of 2" in said[-1]
    assert out["entry"] == "embedder:mini@v2" and out["production"] == "embedder:mini@v1" and out["steps"] == 2
    assert set(out["scores"]) == {"dense", "hybrid"} and 0 <= out["scores"]["dense"]["candidate"] <= 1
    listed = {row["id"]: row for row in json.loads(quarry("models", "list", "--json"))}
    assert (
        listed["embedder:mini@v2"]["status"] == "candidate"
        and "data-test:dense" in listed["embedder:mini@v2"]["evaluations"]
    )
    shown = json.loads(quarry("models", "show", "embedder:mini@v2", "--json"))
    assert shown["lineage"]["sources"]["title"] == 5
    assert shown["lineage"]["negatives"] == "dense, skip 1" and shown["lineage"]["params"]["mini_batch"] == 3
    assert shown["lineage"]["pairs"] > 0 and shown["lineage"]["data_hash"] and shown["index"] == "mini~shadow-2"
    if not out["gates"]["hybrid"]["passed"]:  # two steps rarely make a significant difference: gated
        assert "refused" in runner.invoke(app, ["models", "promote", "embedder:mini@v2"], env=env).output
    quarry("models", "promote", "embedder:mini@v2", "--force", "--note", "test")
    collections = quarry("collections")
    assert "mini~" not in collections  # shadow and kept indexes stay internal
    assert "tuned" in json.loads(quarry("models", "show", "embedder:mini@v2", "--json"))["model_id"]
    quarry("models", "report", "embedder:mini@v2", "--out", str(tmp_path / "report.html"))
    page = (tmp_path / "report.html").read_text()
    assert "<polyline" in page and "data-test:hybrid" in page and "(forced)" in page
    hits = quarry("search", "vitamin", "-c", "mini", "-k", "2")
    assert "result(s)" in hits
    quarry("models", "rollback", "embedder:mini")
    assert json.loads(quarry("models", "show", "embedder:mini@v1", "--json"))["status"] == "production"
