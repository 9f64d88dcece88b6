"""A real ingest process is SIGKILLed half-way; the store must hold, for every document, either
its previous version or its new one — complete in every index — and the next run finishes."""

from __future__ import annotations

import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from quarry.assembly import Quarry
from quarry.ingest.sources import FolderSource
from tests.conftest import SCIFACT
from tests.pipeline.conftest import model_texts

DOCS = 240
MARK = "Quarryrevisionmarker"


def _write_corpus(folder: Path, *, revised: bool) -> None:
    folder.mkdir(exist_ok=True)
    with gzip.open(SCIFACT / "corpus.jsonl.gz", "rt") as lines:
        for i, line in zip(range(DOCS), lines, strict=False):
            record = json.loads(line)
            body = f"# {record['title']}\n\n{record['text']}\n"
            if revised:
                body = f"# {record['title']}\n\n{MARK} {i}. {record['text']}\n"
            (folder / f"{record['_id']}.md").write_text(body)


def _versions(db_path: Path) -> tuple[int, int]:
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT text FROM documents").fetchall()
    finally:
        db.close()
    revised = sum(MARK in r[0] for r in rows)
    return len(rows) - revised, revised


def _kill_mid_ingest(folder: Path, db_path: Path) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")}
    env |= {"QUARRY_STORE__PATH": str(db_path), "QUARRY_INGEST__BATCH_CHUNKS": "16", "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "quarry", "ingest", str(folder), "--collection", "kb", "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if _versions(db_path)[1] >= 20:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        assert process.stderr is not None
        process.stderr.close()
    return process.returncode


def test_sigkill_mid_ingest_leaves_every_document_whole_and_the_next_run_completes(
    system: Quarry, tmp_path: Path
) -> None:
    folder = tmp_path / "corpus"
    _write_corpus(folder, revised=False)
    first = system.ingestor.run(FolderSource(folder, max_bytes=10**7), "kb")
    assert first.new == DOCS
    _write_corpus(folder, revised=True)

    db_path = system.settings.store.path
    assert _kill_mid_ingest(folder, db_path) == -signal.SIGKILL
    old, new = _versions(db_path)
    assert old + new == DOCS
    assert 0 < new < DOCS, "the kill must land half-way for this test to mean anything"

    check = sqlite3.connect(db_path)
    try:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        check.close()
    for info in system.store.documents("kb", limit=DOCS):
        document = system.store.document("kb", info.uri)
        assert document is not None
        chunks = system.store.chunks("kb", info.uri)
        assert chunks and [c.index for c in chunks] == list(range(len(chunks)))
        assert all(document.text[c.start : c.end] == c.text for c in chunks)
    assert system.store.collection("kb").chunks == sum(d.chunks for d in system.store.documents("kb", limit=DOCS))
    revised_hits = system.store.search_text("kb", MARK, DOCS)
    assert len({h.document_uri for h in revised_hits}) == new

    embedded = model_texts(system)
    second = system.ingestor.run(FolderSource(folder, max_bytes=10**7), "kb")
    assert second.ok
    assert second.changed + second.unchanged == DOCS
    assert second.documents_written == DOCS - new
    assert _versions(db_path) == (0, DOCS)
    assert model_texts(system) - embedded <= second.chunks_written
    assert len({h.document_uri for h in system.store.search_text("kb", MARK, DOCS * 3)}) == DOCS
