"""The real ``quarry`` command, run as a process on the bundled samples."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MARKITDOWN_FILES, REPO

SAMPLES = REPO / "samples"


def quarry(*args: str, cwd: Path, check: int | None = 0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")} | {"COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "quarry", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    if check is not None:
        assert done.returncode == check, done.stdout + done.stderr
    return done


@pytest.fixture
def workspace(isolated_env: Path) -> Path:
    quarry("init", cwd=isolated_env)
    shutil.copytree(SAMPLES, isolated_env / "samples")
    return isolated_env


def test_init_writes_a_config_and_refuses_to_overwrite_it(isolated_env: Path) -> None:
    quarry("init", cwd=isolated_env)
    assert "[store]" in (isolated_env / "quarry.toml").read_text()
    again = quarry("init", cwd=isolated_env, check=2)
    assert "already exists" in again.stderr and "--force" in again.stderr


def test_ingest_search_docs_collections_traces_round_trip(workspace: Path) -> None:
    first = json.loads(quarry("ingest", "samples", "--json", cwd=workspace).stdout)
    assert first["new"] == 5 and first["failed"] == 0 and first["chunks_written"] >= 5
    again = json.loads(quarry("ingest", "samples", "--json", cwd=workspace).stdout)
    assert again["unchanged"] == 5 and again["chunks_embedded"] == 0 and again["documents_written"] == 0

    found = json.loads(
        quarry("search", "how many days of paid annual leave", "--json", "-k", "3", cwd=workspace).stdout
    )
    top = found["hits"][0]
    assert top["document_uri"].endswith("handbook.md")
    assert "27 days" in top["text"]
    assert top["heading_path"][-1] == "Annual leave"
    shown = quarry("search", "how many days of paid annual leave", "-k", "3", cwd=workspace).stdout
    assert "Northwind Robotics Employee Handbook" in shown and "handbook.md" in shown  # the title and the path
    bm25 = json.loads(quarry("search", "payload", "--mode", "bm25", "--json", cwd=workspace).stdout)
    assert bm25["hits"][0]["document_uri"].endswith("product-faq.html")

    docs = json.loads(quarry("docs", "--json", cwd=workspace).stdout)
    assert {Path(d["uri"]).name for d in docs} == {
        "handbook.md",
        "security-policy.md",
        "product-faq.html",
        "release-notes.txt",
        "support-tickets.csv",
    }
    (collection,) = json.loads(quarry("collections", "--json", cwd=workspace).stdout)
    assert collection["name"] == "default" and collection["documents"] == 5

    listed = json.loads(quarry("traces", "--json", cwd=workspace).stdout)
    assert [t["kind"] for t in listed[:5]] == ["search", "search", "search", "ingest", "ingest"]
    ingest_id = listed[4]["trace_id"]
    tree = quarry("traces", ingest_id[:10], cwd=workspace).stdout
    for stage in ("source", "parse", "chunk", "embed", "store"):
        assert stage in tree


def test_skipped_files_are_listed_with_the_reason_and_only_strict_fails_on_them(workspace: Path) -> None:
    shutil.copyfile(MARKITDOWN_FILES / "random.bin", workspace / "samples" / "random.bin")
    done = quarry("ingest", "samples", cwd=workspace, check=0)
    assert "Skipped (1)" in done.stdout and "random.bin" in done.stdout and "no parser for" in done.stdout
    assert "Failed" not in done.stdout and "Traceback" not in done.stdout + done.stderr
    again = quarry("ingest", "samples", cwd=workspace, check=0)  # a re-ingest reports the same skip, same reason
    assert "Skipped (1)" in again.stdout and "no parser for" in again.stdout
    strict = quarry("ingest", "samples", "--strict", "--json", cwd=workspace, check=1)
    assert json.loads(strict.stdout)["skipped"] == 1


def test_broken_files_are_listed_and_set_exit_code_1(workspace: Path) -> None:
    (workspace / "samples" / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> trailer garbage")
    done = quarry("ingest", "samples", cwd=workspace, check=1)
    assert "Failed (1)" in done.stdout and "broken.pdf" in done.stdout
    report = json.loads(quarry("ingest", "samples", "--json", cwd=workspace, check=1).stdout)
    assert report["broken"] == 1 and report["unchanged"] == 5


def test_usage_errors_say_what_to_fix(workspace: Path) -> None:
    missing = quarry("ingest", "no-such-folder", cwd=workspace, check=2)
    assert "no-such-folder does not exist" in missing.stderr and "hint:" in missing.stderr
    unknown = quarry("docs", "--collection", "nope", cwd=workspace, check=2)
    assert "collection 'nope' does not exist" in unknown.stderr
    bad_mode = quarry("search", "x", "--mode", "fuzzy", cwd=workspace, check=2)
    assert "fuzzy" in bad_mode.stderr


def test_delete_a_document_then_the_collection(workspace: Path) -> None:
    quarry("ingest", "samples", "--json", cwd=workspace)
    quarry("delete", "samples/handbook.md", cwd=workspace)
    docs = json.loads(quarry("docs", "--json", cwd=workspace).stdout)
    assert len(docs) == 4 and not any(d["uri"].endswith("handbook.md") for d in docs)
    refused = quarry("delete", "--all", cwd=workspace, check=130)  # asks; no answer on stdin aborts
    assert "Delete collection default and its 4 document(s)?" in refused.stdout and "aborted" in refused.stderr
    assert len(json.loads(quarry("docs", "--json", cwd=workspace).stdout)) == 4
    quarry("delete", "--all", "--yes", cwd=workspace)
    assert json.loads(quarry("collections", "--json", cwd=workspace).stdout) == []


def test_sql_source_from_the_command_line(workspace: Path) -> None:
    import sqlite3

    db = sqlite3.connect(workspace / "notes.db")
    with db:
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, owner TEXT)")
        db.execute("INSERT INTO notes VALUES (1, 'The quarterly offsite is in Lisbon this year.', 'ops')")
    db.close()
    dsn = f"sqlite:///{workspace / 'notes.db'}"
    report = json.loads(
        quarry(
            "ingest",
            dsn,
            "--query",
            "SELECT id, body, owner FROM notes",
            "--text-column",
            "body",
            "-c",
            "notes",
            "--json",
            cwd=workspace,
        ).stdout
    )
    assert report["new"] == 1
    hit = json.loads(quarry("search", "where is the offsite", "-c", "notes", "--json", cwd=workspace).stdout)["hits"][0]
    assert "Lisbon" in hit["text"]
