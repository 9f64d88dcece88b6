"""kill -9 while a shadow index is built and swapped back and forth: the live collection always holds one model's
vectors whole, recorded under that model's id, and a rerun finishes the job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from quarry.stores.sqlite import SQLiteStore
from quarry.testing.embedders import HashEmbedder
from quarry.testing.store_data import make_write

SCRIPT = """
import sys, time
from pathlib import Path
from quarry.pipeline.reembed import swap_in, sync_shadow
from quarry.stores.sqlite import SQLiteStore
from quarry.testing.embedders import HashEmbedder

class Negated(HashEmbedder):
    def __init__(self):
        super().__init__(64)
        self.model_id = "test/negated-hash"
    def _embed(self, texts):
        return -super()._embed(texts)

store, models = SQLiteStore(Path(sys.argv[1])), [HashEmbedder(64), Negated()]
serving = store.collection("docs").embedder
sync_shadow(store, "docs", "docs~shadow-2", models[0] if serving == models[1].model_id else models[1])
print("ready", flush=True)
while True:
    serving = store.collection("docs").embedder
    other = models[0] if serving == models[1].model_id else models[1]
    swap_in(store, "docs", "docs~shadow-2", other)
"""


def _check(path: Path) -> str:
    """The live collection's recorded model made every one of its vectors; returns that model's id."""
    with SQLiteStore(path) as store:
        live = store.collection("docs")
        assert live.documents == 40
        sign = -1.0 if live.embedder == "test/negated-hash" else 1.0
        assert live.embedder in ("test/hash-64", "test/negated-hash")
        base = HashEmbedder(64)
        for i in range(0, 40, 7):
            hits = store.search_vector("docs", sign * base.embed_query(f"Intro\nnote number {i} about otters"), 1)
            assert hits[0].document_uri == f"mem://{i}" and hits[0].score > 0.99
        return str(live.embedder)


@pytest.mark.parametrize("delay", [0.0, 0.4, 1.1])
def test_kill_during_swaps_leaves_one_whole_index(tmp_path: Path, delay: float) -> None:
    path = tmp_path / "quarry.db"
    with SQLiteStore(path) as store:
        store.ensure_collection("docs", embedder="test/hash-64")
        store.write("docs", upserts=[make_write(f"mem://{i}", [f"note number {i} about otters"]) for i in range(40)])
    worker = subprocess.Popen([sys.executable, "-c", SCRIPT, str(path)], stdout=subprocess.PIPE, text=True)
    assert worker.stdout is not None
    assert worker.stdout.readline().strip() == "ready"
    time.sleep(delay)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    worker.stdout.close()
    first = _check(path)
    rerun = subprocess.Popen([sys.executable, "-c", SCRIPT, str(path)], stdout=subprocess.PIPE, text=True)
    assert rerun.stdout is not None and rerun.stdout.readline().strip() == "ready"  # resumes on the same shadow
    time.sleep(0.3)
    os.kill(rerun.pid, signal.SIGKILL)
    rerun.wait()
    rerun.stdout.close()
    second = _check(path)
    with SQLiteStore(path) as store:  # the other index is whole too, under the other model
        kept = store.collection("docs~shadow-2")
        assert kept.documents == 40 and {kept.embedder, second} == {"test/hash-64", "test/negated-hash"}
    assert first in ("test/hash-64", "test/negated-hash")
