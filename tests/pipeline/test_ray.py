"""Ingestion on a local Ray cluster (`[ingest] engine = "ray"`): parsing and embedding run on Ray workers, and the
store ends exactly as a single-process ingest of the same files leaves it; a re-run parses and embeds nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import ray

from quarry.assembly import Quarry, build
from quarry.ingest.sources import FolderSource
from quarry.pipeline.ray_engine import RayEmbedder
from quarry.settings import IngestSettings, Settings, StoreSettings
from tests.pipeline.conftest import BAD_FILES, GOOD_FILES, copy_files


@pytest.fixture(scope="module")
def local_ray() -> Iterator[str]:
    """A local Ray cluster for the module; its address lets a `quarry` process join it instead of starting one."""
    context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield str(context.address_info["address"])
    ray.shutdown()


def _snapshot(quarry: Quarry) -> dict[str, object]:
    """Every document with its text hash, duplicate mark and chunks (index, offsets, text)."""
    store = quarry.store
    return {
        info.uri: (
            info.text_hash,
            info.duplicate_of,
            [(c.index, c.start, c.end, c.text) for c in store.chunks("kb", info.uri)],
        )
        for info in store.documents("kb", limit=1000)
    }


def _vectors(quarry: Quarry, query: str) -> list[tuple[str, int, float]]:
    hits = quarry.store.search_vector("kb", quarry.embedder.embed_query(query), 200)
    return sorted((h.document_uri, h.chunk.index, round(h.score, 4)) for h in hits)


def test_ray_ingest_equals_a_single_process_ingest(local_ray: str, tmp_path: Path) -> None:
    folder = copy_files([*GOOD_FILES, *BAD_FILES], tmp_path / "docs")
    systems = {}
    for engine in ("local", "ray"):
        store = StoreSettings(path=tmp_path / engine / "quarry.db")
        quarry = build(Settings(store=store, ingest=IngestSettings(engine=engine, parse_window=4)))
        systems[engine] = (quarry, quarry.ingestor.run(FolderSource(folder, max_bytes=10**8), "kb"))
    (local, first), (remote, ray_report) = systems["local"], systems["ray"]
    try:
        embedder = remote.ingestor.embedder
        assert isinstance(getattr(embedder, "inner", embedder), RayEmbedder)
        assert ray_report.new == first.new == len(GOOD_FILES)
        assert sorted((f.uri, f.kind) for f in ray_report.failures) == sorted((f.uri, f.kind) for f in first.failures)
        assert ray_report.chunks_written == first.chunks_written and ray_report.chunks_embedded > 0
        assert _snapshot(remote) == _snapshot(local)
        for query in ("a memo about the meeting", "invoice total"):
            ours, theirs = _vectors(remote, query), _vectors(local, query)
            assert [(u, i) for u, i, _ in ours] == [(u, i) for u, i, _ in theirs]
            assert np.allclose([s for *_, s in ours], [s for *_, s in theirs], atol=2e-4)
        again = remote.ingestor.run(FolderSource(folder, max_bytes=10**8), "kb")
        assert again.unchanged == len(GOOD_FILES) and again.chunks_embedded == again.documents_written == 0
    finally:
        local.close()
        remote.close()


def test_quarry_ingest_engine_ray_from_the_command_line(local_ray: str, tmp_path: Path) -> None:
    folder = copy_files(GOOD_FILES[:3], tmp_path / "docs")
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")}
    done = subprocess.run(
        [sys.executable, "-m", "quarry", "ingest", str(folder), "--collection", "kb", "--engine", "ray", "--json"],
        cwd=tmp_path, env=env | {"QUARRY_INGEST__RAY_WORKERS": "1", "QUARRY_INGEST__RAY_ADDRESS": local_ray},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["new"] == 3 and report["chunks_written"] > 0
