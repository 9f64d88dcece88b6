"""Load test of ``POST /v1/search`` over SciFact, against ``quarry serve`` running as its own process on 127.0.0.1.

    python bench/serve.py [--store bench/_work/scifact/quarry.db] [--levels 1,8,32] [--seconds 20] [--soak 300]

The store is copied (SQLite backup) into a temporary folder so the server's traces never touch the original.
Each level runs ``--seconds`` with N closed-loop async clients cycling through the SciFact queries; the soak
runs ``--soak`` seconds at ``--soak-clients`` while sampling the server's RSS. Runs the server's default
mode (hybrid: BM25 + MiniLM query embedding + dense, fused) with the soak, then BM25 alone (no model).
Results go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import psutil

from quarry.api.keys import KeyStore
from results import machine, write_section

HERE = Path(__file__).resolve().parent
DEFAULT_STORE = HERE / "_work/scifact/quarry.db"
QUERIES = HERE.parents[1] / "shared/datasets/scifact/queries.jsonl.gz"


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    def row(self, label: str) -> str:
        lat = np.array(self.latencies) * 1000 if self.latencies else np.zeros(1)
        total = len(self.latencies) + self.errors
        p50, p95, p99 = np.percentile(lat, [50, 95, 99])
        rps = len(self.latencies) / self.seconds if self.seconds else 0.0
        err = self.errors / total if total else 0.0
        return (
            f"| {label} | {rps:.0f} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {lat.max():.1f} | {err:.2%} ({self.errors}) |"
        )


def load_queries(path: Path) -> list[str]:
    with gzip.open(path, "rt") as lines:
        return [json.loads(line)["text"] for line in lines if line.strip()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def copy_store(source: Path, folder: Path) -> Path:
    target = folder / "quarry.db"
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


def start_server(folder: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")} | {
        "QUARRY_STORE__PATH": str(folder / "quarry.db"),
        "QUARRY_API__KEYS_PATH": str(folder / "keys.db"),
        "QUARRY_API__RATE_PER_S": "1000000",
        "QUARRY_API__RATE_BURST": "1000000",
    }
    command = [
        sys.executable,
        "-m",
        "quarry",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, cwd=folder, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server never became ready")


async def drive(
    base: str,
    token: str,
    queries: list[str],
    clients: int,
    seconds: float,
    collection: str,
    mode: str,
    on_tick: object = None,
) -> Run:
    run = Run()
    position = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=30
    ) as client:

        async def worker() -> None:
            nonlocal position
            while time.perf_counter() < stop:
                query = queries[position % len(queries)]
                position += 1
                began = time.perf_counter()
                try:
                    response = await client.post(
                        "/v1/search", json={"collection": collection, "query": query, "k": 10, "mode": mode}
                    )
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    run.latencies.append(time.perf_counter() - began)
                else:
                    run.errors += 1

        began = time.perf_counter()
        tasks = [asyncio.create_task(worker()) for _ in range(clients)]
        if callable(on_tick):
            tasks.append(asyncio.create_task(on_tick(stop)))
        await asyncio.gather(*tasks)
        run.seconds = time.perf_counter() - began
    return run


def soak(base: str, token: str, queries: list[str], args: argparse.Namespace, pid: int) -> tuple[Run, list[float]]:
    process = psutil.Process(pid)
    samples: list[float] = []

    async def sample(stop: float) -> None:
        while time.perf_counter() < stop:
            samples.append(process.memory_info().rss / 2**20)
            await asyncio.sleep(5)

    run = asyncio.run(drive(base, token, queries, args.soak_clients, args.soak, args.collection, "hybrid", sample))
    samples.append(process.memory_info().rss / 2**20)
    return run, samples


def measure(args: argparse.Namespace, queries: list[str], *, mode: str, with_soak: bool) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        copy_store(args.store, folder)
        _, token = KeyStore(folder / "keys.db").create("read", collections=[args.collection])
        port = free_port()
        server = start_server(folder, port)
        base = f"http://127.0.0.1:{port}"
        try:
            asyncio.run(drive(base, token, queries, 4, args.warmup, args.collection, mode))  # load vectors, warm caches
            rss_start = psutil.Process(server.pid).memory_info().rss / 2**20
            rows = [
                asyncio.run(drive(base, token, queries, n, args.seconds, args.collection, mode)).row(f"{n} clients")
                for n in args.levels
            ]
            lines = [
                "| load | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |",
                "|---|---|---|---|---|---|---|",
                *rows,
            ]
            if with_soak:
                run, samples = soak(base, token, queries, args, server.pid)
                lines.append(run.row(f"soak {args.soak:.0f} s, {args.soak_clients} clients"))
                minute = samples[min(len(samples) - 1, 12)]
                lines.append("")
                lines.append(
                    f"Server RSS: {rss_start:.0f} MB after warm-up; during the soak {samples[0]:.0f} MB at "
                    f"start, {minute:.0f} MB after 1 min, {samples[-1]:.0f} MB at the end, "
                    f"max {max(samples):.0f} MB (growth after the first minute: {samples[-1] - minute:+.1f} MB)."
                )
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    parser.add_argument("--collection", default="scifact")
    parser.add_argument("--queries", type=Path, default=QUERIES)
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=20.0, help="per concurrency level")
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--soak", type=float, default=300.0, help="soak length in seconds (0 = no soak)")
    parser.add_argument("--soak-clients", type=int, default=8)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    queries = load_queries(args.queries)
    hybrid = measure(args, queries, mode="hybrid", with_soak=args.soak > 0)
    print(hybrid, flush=True)
    bm25 = measure(args, queries, mode="bm25", with_soak=False)
    print(bm25, flush=True)
    command = " ".join(["python", "bench/serve.py", *sys.argv[1:]])
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    body = (
        f"Command: `{command}`. Machine: {machine()}.\n\n"
        f"`quarry serve` (uvicorn, 1 process) on 127.0.0.1 over the SciFact store ({args.store.name}, collection "
        f"`{args.collection}`), `POST /v1/search` k=10, "
        f"with an API key and the access filter on; {len(queries)} SciFact queries in a loop; the async httpx "
        f"load generator shares the 2 cores. Target: ≥ 300 req/s with p99 ≤ 100 ms at 8 clients, no errors, "
        f"flat memory. Load average at the end (1/5/15 min): {load} — other work shared the machine.\n\n"
        f"Hybrid (the default mode: MiniLM embeds every query, BM25 + dense, fused):\n\n{hybrid}\n\n"
        f"BM25 only (no model in the request path):\n\n{bm25}\n"
    )
    if not args.no_write:
        write_section("API search under load (bench/serve.py)", body)


if __name__ == "__main__":
    main()
