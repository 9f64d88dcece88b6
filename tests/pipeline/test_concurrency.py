"""Two `quarry ingest` processes write one collection at once while this process keeps searching it, on each
engine: both runs succeed, every search in between answers, and the collection ends whole and consistent."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from quarry.assembly import Quarry
from tests.pipeline.conftest import GOOD_FILES, copy_files, engine_env
from tests.pipeline.test_sync import _index_is_consistent


def test_two_ingest_processes_and_searches_on_one_collection(system: Quarry, tmp_path: Path) -> None:
    system.store.ensure_collection("kb", embedder=system.embedder.model_id)
    folders = [copy_files(GOOD_FILES[:5], tmp_path / "a"), copy_files(GOOD_FILES[5:], tmp_path / "b")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")} | engine_env(system)
    env |= {"QUARRY_INGEST__BATCH_CHUNKS": "8", "OMP_NUM_THREADS": "1"}
    runs = [
        subprocess.Popen([sys.executable, "-m", "quarry", "ingest", str(folder), "--collection", "kb", "--json"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for folder in folders
    ]  # fmt: skip
    searches: list[int] = []
    errors: list[BaseException] = []

    def search() -> None:
        try:
            while any(run.poll() is None for run in runs):
                searches.append(len(system.store.search_text("kb", "memo invoice email", 5)))
        except BaseException as exc:  # reported below
            errors.append(exc)

    searcher = threading.Thread(target=search)
    searcher.start()
    outputs = [run.communicate(timeout=300) for run in runs]
    searcher.join()
    assert [run.returncode for run in runs] == [0, 0], [err for _, err in outputs]
    assert errors == [] and searches and all(0 <= n <= 5 for n in searches)
    uris = {d.uri for d in system.store.documents("kb", limit=100)}
    expected = [str(folders[0] / f.name) for f in GOOD_FILES[:5]] + [str(folders[1] / f.name) for f in GOOD_FILES[5:]]
    assert uris == set(expected)
    _index_is_consistent(system, "kb")
    for uri in uris:
        assert system.store.chunks("kb", uri)
    assert any(h.document_uri.endswith("fake-memo.pdf") for h in system.store.search_text("kb", "memo", 5))
