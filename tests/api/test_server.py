"""A real uvicorn on 127.0.0.1: in a thread (streaming SSE over a socket) and as `quarry serve` (a process,
with keys made by `quarry keys`)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import uvicorn

from quarry.api import create_app
from quarry.assembly import Quarry
from tests.api.conftest import COLLECTION, LEAK_QUERY, SECRET


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(base: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{base} never became ready")


@pytest.fixture
def threaded_server(leak_system: Quarry) -> Iterator[tuple[str, str]]:
    app = create_app(leak_system, leak_system.settings)
    _, token = app.state.ctx.keys.create("read", principals=["user:bob"])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_ready(base)
    yield base, token
    server.should_exit = True
    thread.join(timeout=15)
    assert not thread.is_alive(), "uvicorn did not shut down"


def test_threaded_uvicorn_serves_and_streams(threaded_server: tuple[str, str]) -> None:
    base, token = threaded_server
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        hits = client.post("/v1/search", json={"collection": COLLECTION, "query": LEAK_QUERY, "k": 3}).json()["hits"]
        assert len(hits) == 3 and SECRET not in json.dumps(hits)
        body = {"collection": COLLECTION, "question": "When is salary paid?", "stream": True}
        names: list[str] = []
        with client.stream("POST", "/v1/answer", json=body) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            names.extend(line[7:] for line in response.iter_lines() if line.startswith("event: "))
        assert names[0] == "token" and names[-1] == "done" and "citation" in names
        assert client.get("/metrics").status_code == 403  # a read key may not scrape


def _quarry(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")}
    done = subprocess.run(
        [sys.executable, "-m", "quarry", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_quarry_serve_process_with_cli_keys(tmp_path: Path) -> None:
    _quarry(tmp_path, "init")
    writer = json.loads(
        _quarry(tmp_path, "keys", "create", "--scope", "write", "--principal", "group:ops", "--json").stdout
    )
    reader = json.loads(_quarry(tmp_path, "keys", "create", "--scope", "read", "-c", "ops", "--json").stdout)
    listed = json.loads(_quarry(tmp_path, "keys", "list", "--json").stdout)
    assert {k["id"] for k in listed} == {writer["id"], reader["id"]} and "token" not in json.dumps(listed)
    assert writer["token"] not in (tmp_path / ".quarry" / "quarry.keys.db").read_bytes().decode("latin-1")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "quarry", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base)
        auth = {"Authorization": f"Bearer {writer['token']}"}
        files = {"files": ("faq.md", b"# FAQ\n\nThe cafeteria opens at eight. Ops only.")}
        job = httpx.post(
            f"{base}/v1/collections/ops/documents", files=files, headers=auth, data={"principals": "public"}
        )
        assert job.status_code == 202
        for _ in range(200):
            status = httpx.get(f"{base}/v1/jobs/{job.json()['id']}", headers=auth).json()["status"]
            if status in ("succeeded", "failed"):
                break
            time.sleep(0.1)
        assert status == "succeeded"
        read = {"Authorization": f"Bearer {reader['token']}"}
        hits = httpx.post(f"{base}/v1/search", json={"collection": "ops", "query": "cafeteria"}, headers=read).json()
        assert hits["hits"][0]["document_uri"] == "upload://ops/faq.md"
        _quarry(tmp_path, "keys", "revoke", reader["id"])
        assert (
            httpx.post(f"{base}/v1/search", json={"collection": "ops", "query": "x"}, headers=read).status_code == 401
        )
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output
    access = [json.loads(line) for line in output.splitlines() if line.startswith('{"ts"')]  # on by default
    searches = [line for line in access if line["path"] == "/v1/search"]
    assert searches[0]["status"] == 200 and searches[0]["key_id"] == reader["id"] and searches[0]["trace_id"]
    assert searches[-1]["status"] == 401 and searches[-1]["key_id"] is None and searches[-1]["ms"] >= 0
    uploads = [line for line in access if line["path"] == "/v1/collections/ops/documents"]
    assert uploads[0]["status"] == 202 and uploads[0]["key_id"] == writer["id"] and uploads[0]["request_id"]


def test_two_worker_processes_share_jobs_and_keys(tmp_path: Path) -> None:
    """`quarry serve --workers 2`: each request may land on either process; a job started through one
    is visible through both, and a revocation reaches both."""
    _quarry(tmp_path, "init")
    writer = json.loads(_quarry(tmp_path, "keys", "create", "--scope", "write", "--json").stdout)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")} | {"QUARRY_METRICS_TOKEN": "scrape"}
    server = subprocess.Popen(
        [sys.executable, "-m", "quarry", "serve", "--port", str(port), "--workers", "2"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, timeout_s=120)
        workers = psutil.Process(server.pid).children(recursive=True)
        assert sum("spawn_main" in " ".join(p.cmdline()) for p in workers) == 2
        auth = {"Authorization": f"Bearer {writer['token']}"}
        files = {"files": ("faq.md", b"# FAQ\n\nThe cafeteria opens at eight.")}
        job = httpx.post(f"{base}/v1/collections/ops/documents", files=files, headers=auth).json()
        statuses = []
        for _ in range(400):  # a new connection each time: the kernel spreads them over both workers
            statuses.append(httpx.get(f"{base}/v1/jobs/{job['id']}", headers=auth).json()["status"])
            if statuses[-1] == "succeeded" and statuses.count("succeeded") >= 6:
                break
            time.sleep(0.05)
        assert statuses[-1] == "succeeded" and "failed" not in statuses
        assert httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer scrape"}).status_code == 200
        _quarry(tmp_path, "keys", "revoke", writer["id"])
        assert all(httpx.get(f"{base}/v1/jobs", headers=auth).status_code == 401 for _ in range(6))
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output
