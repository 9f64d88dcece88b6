"""Load test of ``POST /v1/search`` over SciFact, against ``quarry serve`` running as its own process on 127.0.0.1.

    python bench/serve.py [--store bench/_work/scifact/quarry.db] [--levels 1,8,32] [--seconds 15]
                          [--workers 1,2] [--modes hybrid,bm25] [--mixes unique,zipf] [--soak 300]

The store is copied (SQLite backup) into a temporary folder so the server's traces never touch the original.
For every (workers, mode, query mix) a fresh server starts; each concurrency level then runs ``--seconds``
with N closed-loop async clients. Query mixes:

- ``unique``: the 1,109 SciFact queries in order, the server started with ``QUARRY_API__RESULT_CACHE_TTL_S=0`` — every
  request misses the result cache (the full miss path runs: key, lookup, search, store), the honest
  cold figure even when the list wraps around.
- ``zipf``: each request draws one of the 300 SciFact *test* queries with probability ∝ 1/rank
  (Zipf s=1.0 over a fixed shuffle, seed 0), result cache on (default size, 300 s TTL), starting cold
  after the warm-up (which uses other queries). The share of responses served from the cache is reported.

The soak runs ``--soak`` seconds of the unique mix (hybrid, 1 worker) at ``--soak-clients`` while sampling
the server's RSS (all its processes). The load generator (async httpx) shares the 2 cores; its own CPU
time and the server's are reported per run. Results go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import psutil

from quarry.stores.sqlite import SQLiteKeyStore
from results import machine, write_section

HERE = Path(__file__).resolve().parent
DEFAULT_STORE = HERE / "_work/scifact/quarry.db"
DATA = HERE.parents[1] / "shared/datasets/scifact"
HEADER = "| workers | mode | mix | clients | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | cached | CPU s server / client |"


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: Counter[str] = field(default_factory=Counter)
    cached: int = 0
    seconds: float = 0.0
    cpu_server: float = 0.0
    cpu_client: float = 0.0

    def cells(self) -> str:
        lat = np.array(self.latencies) * 1000 if self.latencies else np.zeros(1)
        total = len(self.latencies) + self.errors
        p50, p95, p99 = np.percentile(lat, [50, 95, 99])
        rps = len(self.latencies) / self.seconds if self.seconds else 0.0
        err = self.errors / total if total else 0.0
        share = self.cached / len(self.latencies) if self.latencies else 0.0
        kinds = ", ".join(f"{n} {kind}" for kind, n in self.error_kinds.most_common())
        return (
            f"{rps:.0f} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {lat.max():.1f} | {err:.2%} ({kinds or 0}) | "
            f"{share:.0%} | {self.cpu_server:.1f} / {self.cpu_client:.1f} |"
        )


def load_queries(path: Path) -> dict[str, str]:
    with gzip.open(path, "rt") as lines:
        return {row["_id"]: row["text"] for row in map(json.loads, lines) if row}


def test_ids(path: Path) -> list[str]:
    ids = [line.split("\t")[0] for line in path.read_text().splitlines()[1:] if line.strip()]
    return list(dict.fromkeys(ids))


def zipf_stream(pool: list[str], seed: int = 0) -> Iterator[str]:
    """Endless draws from ``pool`` with P(rank r) ∝ 1/r over a fixed shuffle."""
    rng = random.Random(seed)
    ranked = pool[:]
    rng.shuffle(ranked)
    weights = [1.0 / r for r in range(1, len(ranked) + 1)]
    while True:
        yield from rng.choices(ranked, weights, k=1024)


def cycle(pool: list[str]) -> Iterator[str]:
    while True:
        yield from pool


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def copy_store(source: Path, folder: Path) -> Path:
    target = folder / "quarry.db"
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


def start_server(folder: Path, port: int, workers: int, cache_ttl: float) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUARRY_")} | {
        "QUARRY_STORE__PATH": str(folder / "quarry.db"),
        "QUARRY_API__KEYS_PATH": str(folder / "keys.db"),
        "QUARRY_API__RATE_PER_S": "1000000",
        "QUARRY_API__RATE_BURST": "1000000",
        "QUARRY_API__RESULT_CACHE_TTL_S": str(cache_ttl),
    }
    command = [sys.executable, "-m", "quarry", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=folder, env=env)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server never became ready")


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def tree_cpu(pid: int) -> float:
    return sum(sum(p.cpu_times()[:2]) for p in tree(pid))


def tree_rss_mb(pid: int) -> float:
    return sum(p.memory_info().rss for p in tree(pid)) / 2**20


async def drive(
    base: str,
    token: str,
    queries: Iterator[str],
    clients: int,
    seconds: float,
    body: dict[str, object],
    on_tick: Callable[[float], Awaitable[None]] | None = None,
) -> Run:
    run = Run()
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:

        async def worker() -> None:
            while time.perf_counter() < stop:
                began = time.perf_counter()
                try:
                    response = await client.post("/v1/search", json={**body, "query": next(queries)})
                except httpx.HTTPError as exc:
                    run.errors += 1
                    run.error_kinds[type(exc).__name__] += 1
                    continue
                if response.status_code == 200:
                    run.latencies.append(time.perf_counter() - began)
                    run.cached += b'"cached":true' in response.content
                else:
                    run.errors += 1
                    run.error_kinds[f"HTTP {response.status_code}"] += 1

        began = time.perf_counter()
        tasks = [asyncio.create_task(worker()) for _ in range(clients)]
        if on_tick is not None:
            tasks.append(asyncio.create_task(on_tick(stop)))
        await asyncio.gather(*tasks)
        run.seconds = time.perf_counter() - began
    return run


def embedding_ceiling(queries: list[str]) -> str:
    """The query embedder's own CPU per query (one thread, as the server runs it) and the request rate that alone allows."""
    from quarry.embeddings import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    embedder.embed_query(queries[0])
    cpu0 = time.process_time()
    for query in queries:
        embedder.embed_query(query)
    ms = (time.process_time() - cpu0) * 1000 / len(queries)
    cores = psutil.cpu_count() or 1
    return (
        f"Query embedding alone (MiniLM, the server's dynamic-int8 query model, one thread, {len(queries)} SciFact "
        f"queries in this process, idle server): {ms:.2f} ms CPU per query, so {cores} cores embed at most "
        f"{cores * 1000 / ms:.0f} distinct queries/s with nothing else running; a hybrid search cannot go faster."
    )


def timed(pid: int, job: Callable[[], Run]) -> Run:
    me = psutil.Process()
    server0, client0 = tree_cpu(pid), sum(me.cpu_times()[:2])
    run = job()
    run.cpu_server, run.cpu_client = tree_cpu(pid) - server0, sum(me.cpu_times()[:2]) - client0
    return run


def soak(base: str, token: str, queries: Iterator[str], args: argparse.Namespace, pid: int) -> tuple[Run, list[float]]:
    samples: list[float] = []

    async def sample(stop: float) -> None:
        while time.perf_counter() < stop:
            samples.append(tree_rss_mb(pid))
            await asyncio.sleep(5)

    body = {"collection": args.collection, "k": 10, "mode": "hybrid"}
    run = timed(pid, lambda: asyncio.run(drive(base, token, queries, args.soak_clients, args.soak, body, sample)))
    samples.append(tree_rss_mb(pid))
    return run, samples


@dataclass
class Plan:
    workers: int
    mode: str
    mix: str
    soak: bool = False


def measure(args: argparse.Namespace, plan: Plan, pools: dict[str, list[str]]) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        copy_store(args.store, folder)
        _, token = SQLiteKeyStore(folder / "keys.db").create("read", collections=[args.collection])
        port = free_port()
        server = start_server(folder, port, plan.workers, 0.0 if plan.mix == "unique" else 300.0)
        base = f"http://127.0.0.1:{port}"
        body = {"collection": args.collection, "k": 10, "mode": plan.mode}
        lines: list[str] = []
        try:
            asyncio.run(drive(base, token, cycle(pools["warmup"]), 4, args.warmup, body))  # warm every worker
            for n in args.levels:
                queries = cycle(pools["all"]) if plan.mix == "unique" else zipf_stream(pools["test"])
                level = drive(base, token, queries, n, args.seconds, body)
                run = timed(server.pid, lambda level=level: asyncio.run(level))  # type: ignore[misc]
                lines.append(f"| {plan.workers} | {plan.mode} | {plan.mix} | {n} | {run.cells()}")
                print(lines[-1], flush=True)
            if plan.soak:
                rss_start = tree_rss_mb(server.pid)
                run, samples = soak(base, token, cycle(pools["all"]), args, server.pid)
                minute = samples[min(len(samples) - 1, 12)]
                lines.append(
                    f"| {plan.workers} | {plan.mode} | soak {args.soak:.0f} s | {args.soak_clients} | {run.cells()}"
                )
                lines.append(
                    f"\nSoak memory (server RSS, all processes): {rss_start:.0f} MB before; {samples[0]:.0f} MB at "
                    f"start, {minute:.0f} MB after 1 min, {samples[-1]:.0f} MB at the end, max {max(samples):.0f} MB "
                    f"(growth after the first minute: {samples[-1] - minute:+.1f} MB)."
                )
                print(lines[-1], flush=True)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    split = lambda s: s.split(",")  # noqa: E731
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    parser.add_argument("--collection", default="scifact")
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=15.0, help="per concurrency level")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2])
    parser.add_argument("--modes", type=split, default=["hybrid", "bm25"])
    parser.add_argument("--mixes", type=split, default=["unique", "zipf"])
    parser.add_argument("--soak", type=float, default=300.0, help="soak length in seconds (0 = no soak)")
    parser.add_argument("--soak-clients", type=int, default=8)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    texts = load_queries(DATA / "queries.jsonl.gz")
    test = [texts[i] for i in test_ids(DATA / "qrels/test.tsv") if i in texts]
    pools = {"all": list(texts.values()), "test": test, "warmup": [t for t in texts.values() if t not in set(test)]}
    load_before = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    rows: list[str] = []
    notes: list[str] = [embedding_ceiling(test)] if "hybrid" in args.modes else []
    for workers in args.workers:
        for mode in args.modes:
            for mix in args.mixes:
                soaking = args.soak > 0 and (workers, mode, mix) == (1, "hybrid", "unique")
                for line in measure(args, Plan(workers, mode, mix, soaking), pools):
                    (notes if line.startswith("\n") else rows).append(line.strip())
    load_after = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    command = " ".join(["flock /tmp/quarry-latency.lock python bench/serve.py", *sys.argv[1:]])
    body = (
        f"Command: `{command}`. Machine: {machine()}. Load average (1/5/15 min) before: {load_before}; "
        f"after: {load_after} (other work on the machine shares the 2 cores).\n\n"
        f"`quarry serve --workers W` (uvicorn) on 127.0.0.1 over a copy of the SciFact store, `POST /v1/search` k=10 "
        f"with a read key (access filter on), {args.seconds:.0f} s per level after a {args.warmup:.0f} s warm-up. "
        f"Mixes: **unique** = every request misses the result cache (server run with `QUARRY_API__RESULT_CACHE_TTL_S=0`; the "
        f"{len(pools['all'])} SciFact queries in order); **zipf** = draws from the {len(test)} SciFact test queries "
        f"with P(rank r) ∝ 1/r (s=1.0, fixed shuffle, seed 0), cache on (default 4096 entries / 64 MB / 300 s), "
        f"cold at the start of the first level. `cached` = share of responses served from the cache. CPU s = CPU "
        f"seconds used during the level by the server (all processes) and by the async httpx load generator, "
        f"which runs on the same 2 cores. Target: ≥ 300 req/s with p99 ≤ 100 ms at 8 clients, no errors, flat "
        f"memory.\n\n"
        + "\n".join([HEADER, "|---|---|---|---|---|---|---|---|---|---|---|---|", *rows])
        + ("\n\n" + "\n".join(notes) if notes else "")
        + "\n"
    )
    print(body)
    if not args.no_write:
        write_section("API search under load (bench/serve.py)", body)


if __name__ == "__main__":
    main()
