"""Two `quarry serve` processes (separate folders, as on two hosts) on one PostgreSQL database: an upload through
one is a job both can see, both return the same search results, a deletion through one is gone from both at once,
and a key revoked from the command line is refused by both on the next request."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.api.test_server import free_port, wait_ready


def _env(url: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")} | {"QUARRY_STORE__URL": url}


def _quarry(cwd: Path, url: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "quarry", *args], cwd=cwd, env=_env(url), capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_two_api_processes_on_one_database_serve_the_same_state(tmp_path: Path, postgres_url: str) -> None:
    hosts = [tmp_path / "host-a", tmp_path / "host-b"]
    for host in hosts:
        host.mkdir()
    writer = json.loads(_quarry(hosts[0], postgres_url, "keys", "create", "--scope", "write", "--json"))
    reader = json.loads(_quarry(hosts[1], postgres_url, "keys", "create", "--scope", "read", "--json"))
    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen([sys.executable, "-m", "quarry", "serve", "--port", str(port)], cwd=host,
                         env=_env(postgres_url), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for host, port in zip(hosts, ports, strict=True)
    ]  # fmt: skip
    try:
        a, b = (f"http://127.0.0.1:{port}" for port in ports)
        wait_ready(a, timeout_s=120)
        wait_ready(b, timeout_s=120)
        write, read = ({"Authorization": f"Bearer {k['token']}"} for k in (writer, reader))
        files = [("files", ("faq.md", b"# FAQ\n\nThe cafeteria opens at eight.")),
                 ("files", ("parking.md", b"# Parking\n\nVisitors park in lot C beside the cafeteria."))]  # fmt: skip
        job = httpx.post(f"{a}/v1/collections/ops/documents", files=files, headers=write).json()
        for _ in range(300):  # the job runs in A; B reads its row
            status = httpx.get(f"{b}/v1/jobs/{job['id']}", headers=write).json()["status"]
            if status in ("succeeded", "failed"):
                break
            time.sleep(0.1)
        assert status == "succeeded"
        query = {"collection": "ops", "query": "when does the cafeteria open", "k": 5}
        found = [httpx.post(f"{base}/v1/search", json=query, headers=read).json()["hits"] for base in (a, b)]
        assert [h["document_uri"] for h in found[0]] == [h["document_uri"] for h in found[1]]
        assert [round(h["score"], 6) for h in found[0]] == [round(h["score"], 6) for h in found[1]]
        assert found[0][0]["document_uri"] == "upload://ops/faq.md"
        deleted = httpx.delete(f"{b}/v1/collections/ops/documents/upload://ops/faq.md", headers=write)
        assert deleted.status_code == 204, deleted.text
        after = httpx.post(f"{a}/v1/search", json=query, headers=read).json()["hits"]
        assert [h["document_uri"] for h in after] == ["upload://ops/parking.md"]
        _quarry(hosts[0], postgres_url, "keys", "revoke", reader["id"])
        assert [httpx.post(f"{base}/v1/search", json=query, headers=read).status_code for base in (a, b)] == [401, 401]
    finally:
        for server in servers:
            server.send_signal(signal.SIGINT)
        outputs = [server.communicate(timeout=60)[0] for server in servers]
    assert [server.returncode for server in servers] == [0, 0], outputs
