"""A new user's first hour: the README's commands in a fresh home folder, read as a person would read them
(80-column terminal, no traceback anywhere), plus `quarry show` and `quarry export` on what was ingested."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.cli.test_cli import SAMPLES

WIDTH = 80


def run(home: Path, cwd: Path, *args: str, check: int = 0) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")}
    env |= {"COLUMNS": str(WIDTH), "QUARRY_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-m", "quarry", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    shown = done.stdout + done.stderr
    assert done.returncode == check, shown
    assert "Traceback" not in shown, shown
    if "--json" not in args and args[0] != "export":
        wide = [line for line in shown.splitlines() if len(line) > WIDTH]
        assert not wide, f"{args}: lines over {WIDTH} columns: {wide}"
    return done.stdout


def test_the_readme_walkthrough_in_a_fresh_home(tmp_path: Path) -> None:
    home, desk = tmp_path / "home", tmp_path / "desk"
    desk.mkdir()
    shutil.copytree(SAMPLES, desk / "docs")
    (desk / "docs" / "notes.xyz").write_text("an unsupported file type")

    assert "created" in run(home, desk, "init")
    ingested = run(home, desk, "ingest", "docs", "--collection", "handbook")
    assert "Ingested into handbook" in ingested and "Skipped (1)" in ingested and "notes.xyz" in ingested
    again = run(home, desk, "ingest", "docs", "-c", "handbook", "--json")
    assert json.loads(again)["unchanged"] == 5 and json.loads(again)["chunks_embedded"] == 0
    assert "handbook" in run(home, desk, "collections")
    assert "handbook.md" in run(home, desk, "docs", "-c", "handbook")

    found = run(home, desk, "search", "how many days of annual leave", "-c", "handbook", "-k", "5")
    assert found.startswith("1. Northwind Robotics Employee Handbook") and "27 days" in found
    hits = json.loads(run(home, desk, "search", "annual leave", "-c", "handbook", "--mode", "bm25", "--json"))
    uri = hits["hits"][0]["document_uri"]

    answered = run(home, desk, "ask", "how many days of annual leave do I get?", "-c", "handbook")
    assert "Sources" in answered and "trace" in answered

    shown = run(home, desk, "show", uri, "-c", "handbook", "--chunks")
    assert uri in shown.replace("\n", "") and "27 days of paid annual leave" in shown and "chunk(s)" in shown
    export = desk / "handbook.jsonl"
    run(home, desk, "export", "-c", "handbook", "-o", str(export))
    records = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 5 and {r["uri"] for r in records} >= {uri}
    handbook = next(r for r in records if r["uri"] == uri)
    assert all(handbook["text"][c["start"] : c["end"]] for c in handbook["chunks"])  # offsets index the text
    assert "27 days" in handbook["text"]

    assert "ingest" in run(home, desk, "traces")
    assert "retrieval.mode" in run(home, desk, "config", "show")
    missing = run(home, desk, "show", "nope.md", "-c", "handbook", check=2)
    assert missing == ""
    run(home, desk, "delete", "docs/handbook.md", "-c", "handbook")
    assert len(json.loads(run(home, desk, "docs", "-c", "handbook", "--json"))) == 4
    assert (home / ".quarry" / "quarry.db").is_file() and not (desk / ".quarry").exists()
