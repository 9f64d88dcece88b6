"""Operations: /metrics needs credentials, jobs live in the job store (survive a restart, shared by processes),
verified keys are remembered but revocation from another connection still applies at once."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from quarry.api import create_app
from quarry.embeddings import Embedder
from quarry.stores.jobs import INTERRUPTED, Job
from quarry.stores.sqlite import SQLiteJobStore as JobStore
from quarry.stores.sqlite import SQLiteKeyStore as KeyStore
from tests.api.conftest import Api, make_settings, make_system, wait_job

SCRAPE = "scrape-token-for-tests"


@pytest.fixture
def scraped_api(tmp_path: Path, minilm: Embedder) -> Iterator[Api]:
    settings = make_settings(tmp_path)
    quarry = make_system(tmp_path, minilm, settings)
    app = create_app(quarry, settings, metrics_token=SCRAPE)
    with TestClient(app) as client:
        yield Api(app, client)
    quarry.close()


def test_metrics_needs_an_admin_key_or_the_scraper_token(scraped_api: Api) -> None:
    api = scraped_api
    get = api.client.get
    assert get("/metrics").status_code == 401
    assert get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert get("/metrics", headers={"Authorization": f"Bearer {SCRAPE}x"}).status_code == 401
    assert get("/metrics", headers=api.headers("read")).status_code == 403
    assert get("/metrics", headers=api.headers("write")).status_code == 403
    admin = get("/metrics", headers=api.headers("admin"))
    assert admin.status_code == 200 and "quarry_http_requests_total" in admin.text
    assert get("/metrics", headers={"Authorization": f"Bearer {SCRAPE}"}).status_code == 200
    assert get("/healthz").status_code == 200 and get("/readyz").status_code == 200  # probes stay open


def test_without_a_scraper_token_only_admin_keys_scrape(fresh_api: Callable[..., Api]) -> None:
    api = fresh_api()
    assert api.client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401
    assert api.client.get("/metrics", headers=api.headers("admin")).status_code == 200


def test_jobs_survive_a_restart_and_are_shared(tmp_path: Path, minilm: Embedder) -> None:
    settings = make_settings(tmp_path)
    quarry = make_system(tmp_path, minilm, settings)
    first = create_app(quarry, settings)
    with TestClient(first) as client:
        api = Api(first, client)
        writer = api.headers("write")
        files = {"files": ("faq.md", b"# FAQ\n\nThe cafeteria opens at eight.")}
        job = client.post("/v1/collections/ops/documents", files=files, headers=writer).json()
        done = wait_job(api, str(job["id"]), writer)
        assert done["status"] == "succeeded" and done["units"] == {"new": 1}
    second = create_app(quarry, settings)  # a restarted (or another worker's) app over the same files
    with TestClient(second) as client:
        seen = client.get(f"/v1/jobs/{job['id']}", headers=writer).json()
        assert seen["status"] == "succeeded" and seen["report"] == done["report"]
        assert [j["id"] for j in client.get("/v1/jobs", headers=writer).json()] == [job["id"]]
        outsider = {"Authorization": f"Bearer {second.state.ctx.keys.create('read')[1]}"}
        assert client.get(f"/v1/jobs/{job['id']}", headers=outsider).status_code == 404
    quarry.close()


def test_jobs_of_a_dead_process_are_marked_interrupted(tmp_path: Path) -> None:
    store_path = make_settings(tmp_path).store.path
    path = store_path.with_name(store_path.stem + ".jobs.db")
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from pathlib import Path\nfrom quarry.stores.jobs import Job\n"
            f"from quarry.stores.sqlite import SQLiteJobStore as JobStore\n"
            f"s = JobStore(Path({str(path)!r})); j = Job('dead1', 'upload', 'c', 'k1', 'r'); s.add(j)\n"
            f"j.status = 'running'; s.save(j)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == 0, child.stderr
    store = JobStore(path)  # opening marks the jobs of processes that are gone
    job = store.get("dead1")
    assert job is not None and job.status == "failed" and job.message == INTERRUPTED and job.finished_at
    live = Job("alive1", "upload", "c", "k1", "r", status="running")
    store.add(live)
    assert JobStore(path).get("alive1").status == "running"  # type: ignore[union-attr]  # this process lives
    store.close()


def test_a_remembered_key_is_revoked_from_another_connection(tmp_path: Path) -> None:
    server, cli = KeyStore(tmp_path / "keys.db"), KeyStore(tmp_path / "keys.db")
    key, token = cli.create("read", principals=["user:ann"])
    assert server.verify(token) == key and server.verify(token) == key  # the second comes from memory
    assert server.verify(token + "x") is None
    assert cli.revoke(key.id)
    assert server.verify(token) is None
    _, other = server.create("write")
    assert server.verify(other) is not None and server.revoke(server.verify(other).id)  # type: ignore[union-attr]
    assert server.verify(other) is None
    server.close()
    cli.close()


def test_job_progress_is_written_while_it_runs(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.db")
    job = Job("j1", "upload", "c", "k1", "r", status="running", started_at=time.time())
    store.add(job)
    job.units = {"new": 3, "failed": 1}
    job.chunks, job.errors = 7, [{"uri": "x", "reason": "broken", "kind": "parse"}]
    store.save(job)
    seen = store.get("j1")
    assert seen is not None and (seen.done, seen.chunks, seen.errors) == (4, 7, job.errors)
    store.close()
