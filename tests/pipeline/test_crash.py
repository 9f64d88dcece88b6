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
from tests.pipeline.conftest import document_texts, engine_env, model_texts

DOCS = 100  # enough that the kill lands after 20 revised documents and well before the last
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


def _versions(system: Quarry) -> tuple[int, int]:
    texts = document_texts(system)
    revised = sum(MARK in text for text in texts)
    return len(texts) - revised, revised


def _kill_mid_ingest(folder: Path, system: Quarry) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")} | engine_env(system)
    env |= {"QUARRY_INGEST__BATCH_CHUNKS": "16", "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "quarry", "ingest", str(folder), "--collection", "kb", "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if _versions(system)[1] >= 20:
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

    assert _kill_mid_ingest(folder, system) == -signal.SIGKILL
    old, new = _versions(system)
    assert old + new == DOCS
    assert 0 < new < DOCS, "the kill must land half-way for this test to mean anything"

    if system.settings.store.engine == "sqlite":
        check = sqlite3.connect(system.settings.store.path)
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
    assert _versions(system) == (0, DOCS)
    assert model_texts(system) - embedded <= second.chunks_written
    assert len({h.document_uri for h in system.store.search_text("kb", MARK, DOCS * 3)}) == DOCS
