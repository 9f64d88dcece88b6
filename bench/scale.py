"""pgvector HNSW at scale: N synthetic 384-d vectors in PostgreSQL, the index Quarry's PostgreSQL store builds
(cosine, M 16, ef_construction 128), recall@10 against exact search, query p50/p95 per ef_search, build time and
sizes; then a projection to 10M and 100M chunks. Results in bench/RESULTS.md; the write-up is docs/scaling.md.

    python bench/scale.py [--rows 1000000] [--queries 200] [--no-write]

The vectors (see ``vectors``) stand in for real embeddings: 2,000 clusters varying along a shared 48-dimensional
subspace plus a little noise, unit-normalised; uniform random vectors would be the worst case for any graph index
and unlike text embeddings. The server is a
real PostgreSQL (pgserver) in bench/_work/postgres, or QUARRY_BENCH_POSTGRES_URL.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

from quarry.testing.postgres import new_database, start_server
from results import machine, write_section

WORK = Path(__file__).resolve().parent / "_work"
DIM, CLUSTERS, INTRINSIC, M, EF_CONSTRUCTION = 384, 2000, 48, 16, 128


def vectors(rows: int, rng: np.random.Generator) -> np.ndarray:
    """Cluster centres plus variation along a shared 48-dimensional subspace and a little isotropic noise: text
    embeddings have a low intrinsic dimension, which is what lets graph indexes work."""
    centres = rng.standard_normal((CLUSTERS, DIM)).astype(np.float32)
    basis = rng.standard_normal((INTRINSIC, DIM)).astype(np.float32)
    data = np.empty((rows, DIM), dtype=np.float32)
    for start in range(0, rows, 100_000):
        n = min(100_000, rows - start)
        spread = rng.standard_normal((n, INTRINSIC)).astype(np.float32) @ basis
        noise = 0.15 * rng.standard_normal((n, DIM)).astype(np.float32)
        data[start : start + n] = centres[rng.integers(0, CLUSTERS, n)] + 0.5 * spread / np.sqrt(INTRINSIC) + noise
    return data / np.linalg.norm(data, axis=1, keepdims=True)


def load(conn: psycopg.Connection, data: np.ndarray) -> float:
    began = time.perf_counter()
    conn.execute(f"CREATE TABLE items (id bigint PRIMARY KEY, embedding vector({DIM}))")
    with conn.cursor().copy("COPY items (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["int8", "vector"])
        for i, row in enumerate(data):
            copy.write_row((i, row))
    conn.commit()
    return time.perf_counter() - began


def build(conn: psycopg.Connection) -> float:
    conn.execute("SET maintenance_work_mem = '6GB'")
    conn.execute("SET max_parallel_maintenance_workers = 1")  # two processes on two cores
    began = time.perf_counter()
    conn.execute(
        f"CREATE INDEX items_hnsw ON items USING hnsw (embedding vector_cosine_ops) "
        f"WITH (m = {M}, ef_construction = {EF_CONSTRUCTION})"
    )
    conn.commit()
    return time.perf_counter() - began


def search(conn: psycopg.Connection, queries: np.ndarray, ef: int) -> tuple[list[list[int]], list[float]]:
    conn.execute(f"SET hnsw.ef_search = {ef}")
    found, millis = [], []
    for q in queries:
        began = time.perf_counter()
        rows = conn.execute("SELECT id FROM items ORDER BY embedding <=> %s LIMIT 10", (q,)).fetchall()
        millis.append((time.perf_counter() - began) * 1000)
        found.append([r[0] for r in rows])
    return found, millis


def size(conn: psycopg.Connection, relation: str) -> int:
    return int(conn.execute("SELECT pg_relation_size(%s)", (relation,)).fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    data = vectors(args.rows, rng)
    picks = rng.integers(0, args.rows, args.queries)
    queries = data[picks] + 0.05 * rng.standard_normal((args.queries, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    truth = [list(np.argsort(-(data @ q))[:10]) for q in queries]
    server = os.environ.get("QUARRY_BENCH_POSTGRES_URL") or start_server(WORK / "postgres")
    with psycopg.connect(new_database(server, "scale")) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(conn)
        loaded = load(conn, data)
        built = build(conn)
        table, index = size(conn, "items"), size(conn, "items_hnsw")
        lines = ["| ef_search | recall@10 | p50 ms | p95 ms |", "|---:|---:|---:|---:|"]
        for ef in (40, 64, 100, 200):
            search(conn, queries[:20], ef)  # warm the index pages
            found, millis = search(conn, queries, ef)
            recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
            p50, p95 = np.percentile(millis, [50, 95])
            lines.append(f"| {ef} | {recall:.3f} | {p50:.1f} | {p95:.1f} |")
    per_row = (table + index) / args.rows
    projection = ["| chunks | table + HNSW on disk | RAM to keep the index hot | build on 2 cores (linear-log) |",
                  "|---:|---:|---:|---:|"]  # fmt: skip
    for n in (10_000_000, 100_000_000):
        scale = n / args.rows * np.log(n) / np.log(args.rows)
        projection.append(f"| {n:,} | {per_row * n / 2**30:.0f} GiB | {index / args.rows * n / 2**30:.0f} GiB | "
                          f"{built * scale / 3600:.1f} h |")  # fmt: skip
    command = "python bench/scale.py " + " ".join(sys.argv[1:])
    text = (
        f"`{command.strip()}` — {machine()}. PostgreSQL 16 + pgvector 0.6.2 (pgserver); {args.rows:,} vectors of "
        f"{DIM} dimensions (2,000 clusters, 48-d intrinsic variation), {args.queries} queries; HNSW M {M}, ef_construction "
        f"{EF_CONSTRUCTION}, cosine.\n\nLoad (COPY, binary): {loaded:.0f} s. Index build: {built:.0f} s. Table "
        f"{table / 2**20:.0f} MiB, index {index / 2**20:.0f} MiB.\n\n"
        + "\n".join(lines)
        + "\n\nProjection from these figures (sizes scale linearly; build time as n·log n):\n\n"
        + "\n".join(projection)
    )
    print(text)
    if not args.no_write:
        write_section("pgvector HNSW at scale", text)


if __name__ == "__main__":
    main()
