"""Exact vs HNSW (usearch) dense search in SQLiteStore: recall@10, latency, build time, index size.

    python bench/ann.py [--store bench/_work/scifact/quarry.db] [--synthetic 200000]

1. **SciFact**: a copy of the SciFact store (12,517 real MiniLM chunk vectors) and the 300 test
   queries embedded by the same model. The store itself is only read (copied with SQLite's backup
   API), and the index files go beside the copy.
2. **Synthetic**: the 12,517 real vectors, then synthetic ones up to ``--synthetic`` rows. Each
   synthetic row is ``normalise(real_i + 0.5 * real_j + noise)``, with i and j random real rows and
   Gaussian noise of norm 0.5. They go into a new store as documents of 10 chunks each.
   The same 300 real queries. This is *not* real data. It only shows how the costs scale.

Recall@10 is the share of the exact top-10 chunk keys that the ANN top-10 also returns, per query,
averaged. Latency is ``Store.rank_vector(k=10)``, one query at a time in one thread, after warm-up.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sqlite3
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from functools import partial
from pathlib import Path

import numpy as np
import psutil

from quarry.embeddings import MiniLMEmbedder
from quarry.stores.base import DocumentWrite
from quarry.stores.filters import Eq, Filter
from quarry.stores.sqlite import SQLiteStore
from quarry.stores.sqlite.ann import HnswParams
from quarry.stores.sqlite.vectors import LoadedVectors, top_k
from quarry.types import Chunk, Document, Matrix
from results import machine, write_section

DATA = Path(__file__).resolve().parents[2] / "shared/datasets/scifact"
WORK = Path(__file__).resolve().parent / "_work" / "ann_bench"
ROWS_PER_DOC = 10


def test_queries(embedder: MiniLMEmbedder) -> Matrix:
    judged = {line.split("\t")[0] for line in (DATA / "qrels/test.tsv").read_text().splitlines()[1:] if line}
    with gzip.open(DATA / "queries.jsonl.gz", "rt") as lines:
        texts = [r["text"] for r in map(json.loads, lines) if r["_id"] in judged]
    return np.stack([embedder.embed_query(text) for text in texts])


def copy_store(source: Path, target: Path) -> None:
    for stale in (target, target.with_name(target.name + ".ann")):
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink(missing_ok=True)
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def synthetic_store(real: Matrix, rows: int, target: Path) -> None:
    for stale in (target, target.with_name(target.name + ".ann")):
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink(missing_ok=True)
    rng = np.random.default_rng(0)
    extra = rows - len(real)
    i, j = rng.integers(0, len(real), extra), rng.integers(0, len(real), extra)
    noise = rng.standard_normal((extra, real.shape[1])).astype(np.float32)
    noise *= 0.5 / np.linalg.norm(noise, axis=1, keepdims=True)
    made = real[i] + 0.5 * real[j] + noise
    matrix = np.concatenate([real, made / np.linalg.norm(made, axis=1, keepdims=True)]).astype(np.float32)
    with SQLiteStore(target, ann_threshold=0) as store:
        store.ensure_collection("synthetic", embedder="minilm-synthetic")
        for start in range(0, rows, 50_000):
            batch = [
                _document(d, matrix) for d in range(start // ROWS_PER_DOC, min(rows, start + 50_000) // ROWS_PER_DOC)
            ]
            store.write("synthetic", upserts=batch)


def _document(d: int, matrix: Matrix) -> DocumentWrite:
    texts = [f"synthetic chunk {d}.{i}" for i in range(ROWS_PER_DOC)]
    text = "\n".join(texts)
    doc = Document(f"synthetic://{d}", "synthetic://", text, f"doc {d}", metadata={"half": d % 2})
    chunks, start = [], 0
    for i, piece in enumerate(texts):
        chunks.append(Chunk(doc.id, i, piece, start, start + len(piece), token_count=3))
        start += len(piece) + 1
    return DocumentWrite(doc, chunks, matrix[d * ROWS_PER_DOC : (d + 1) * ROWS_PER_DOC])


def timed(search: Callable[[Matrix], list[str]], queries: Matrix) -> tuple[list[list[str]], float, float]:
    search(queries[0])  # warm: loads the matrix (and the filter's allowed rows)
    found, samples = [], []
    for query in queries:
        began = time.perf_counter()
        found.append(search(query))
        samples.append((time.perf_counter() - began) * 1000)
    return found, float(np.percentile(samples, 50)), float(np.percentile(samples, 99))


def measure(path: Path, collection: str, queries: Matrix, where: Filter | None, threshold: int) -> dict[str, str]:
    """One collection: build the index from scratch, then exact vs ANN on the same snapshot."""
    with SQLiteStore(path, ann_threshold=0) as exact, SQLiteStore(path, ann_threshold=threshold) as ann:
        chunks = exact.collection(collection).chunks
        began = time.perf_counter()
        assert ann.build_ann(collection), "the collection is not above the ANN threshold"
        build = time.perf_counter() - began
        size = sum(f.stat().st_size for f in ann.ann_folder.glob("*.usearch"))
        row = {
            "collection": f"{collection} ({chunks:,} chunks)",
            "build s": f"{build:.1f}",
            "index MiB": f"{size / 2**20:.0f}",
        }
        for label, flt in (("", None), (" (filtered)", where)):
            truth, e50, e99 = timed(ranker(exact, collection, flt), queries)
            found, a50, a99 = timed(ranker(ann, collection, flt), queries)
            recall = np.mean([len(set(a) & set(t)) / 10 for a, t in zip(found, truth, strict=True)])
            short = sum(len(a) < len(t) for a, t in zip(found, truth, strict=True))
            row |= {
                f"recall@10{label}": f"{recall:.4f}",
                f"exact p50/p99 ms{label}": f"{e50:.2f} / {e99:.2f}",
                f"ANN p50/p99 ms{label}": f"{a50:.2f} / {a99:.2f}",
                f"short results{label}": str(short),
            }
        row["ANN searches (widened, exact fallback)"] = str(ann._ann.counts)
        row |= update_and_reopen(path, collection, ann, threshold)
    return row


def update_and_reopen(path: Path, collection: str, ann: SQLiteStore, threshold: int) -> dict[str, str]:
    """Cost of loading the saved index in a new process, and of an incremental update."""
    with SQLiteStore(path, ann_threshold=threshold) as reopened:
        reopened.vectors(collection, [])  # loads the matrix from SQLite (exact search needs it too)
        began = time.perf_counter()
        reopened.build_ann(collection)
        reopen = time.perf_counter() - began
    ann.write(collection, delete_uris=[d.uri for d in ann.documents(collection, limit=10)])
    ann.vectors(collection, [])
    began = time.perf_counter()
    ann.build_ann(collection)
    update = time.perf_counter() - began
    return {"reopen s (load saved index)": f"{reopen:.2f}", "update s (10 documents deleted)": f"{update:.2f}"}


def ranker(store: SQLiteStore, collection: str, where: Filter | None) -> Callable[[Matrix], list[str]]:
    def search(query: Matrix) -> list[str]:
        return [key for key, _ in store.rank_vector(collection, query, 10, where)]

    return search


def _exact_keys(loaded: LoadedVectors, query: Matrix) -> list[str]:
    return [str(rowid) for rowid, _ in top_k(loaded, query, 10)]


def exact_scaling(matrix_path: Path, collection: str, queries: Matrix, sizes: Sequence[int]) -> str:
    """Exact einsum latency by collection size (the cost the threshold bounds)."""
    with SQLiteStore(matrix_path, ann_threshold=0) as store, store._read() as conn:
        loaded = store._loaded_vectors(conn, collection)
    assert loaded is not None
    rows = []
    for size in sizes:
        part = LoadedVectors(loaded.key, loaded.rowids[:size], loaded.documents[:size], loaded.matrix[:size])
        _, p50, p99 = timed(partial(_exact_keys, part), queries)
        rows.append(f"| {size:,} | {p50:.2f} | {p99:.2f} |")
    return "\n".join(rows)


def table(rows: list[dict[str, str]]) -> str:
    keys = list(rows[0])
    lines = ["| | " + " | ".join(r["collection"] for r in rows) + " |", "|---" * (len(rows) + 1) + "|"]
    lines += [f"| {key} | " + " | ".join(r[key] for r in rows) + " |" for key in keys[1:]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=Path("bench/_work/scifact/quarry.db"))
    parser.add_argument("--synthetic", type=int, default=200_000)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    queries = test_queries(MiniLMEmbedder())
    copy = WORK / "scifact.db"
    copy_store(args.store, copy)
    load = [f"{x:.1f}" for x in psutil.getloadavg()]
    rows = [measure(copy, "scifact", queries, Eq("missing", None), threshold=1_000)]
    with SQLiteStore(copy, ann_threshold=0) as store, store._read() as conn:
        real = store._loaded_vectors(conn, "scifact")
    assert real is not None
    synthetic = WORK / "synthetic.db"
    synthetic_store(real.matrix, args.synthetic, synthetic)
    rows.append(measure(synthetic, "synthetic", queries, Eq("half", 0), threshold=HnswParams().threshold))
    sizes = [s for s in (12_517, 25_000, 50_000, 100_000, 200_000) if s <= args.synthetic]
    scaling = exact_scaling(synthetic, "synthetic", queries, sizes)
    load += [f"{x:.1f}" for x in psutil.getloadavg()]
    body = f"""Command: `python bench/ann.py --synthetic {args.synthetic}`. Machine: {machine()}; load average
{load[0]} / {load[1]} / {load[2]} at the start and {load[3]} / {load[4]} / {load[5]} at the end (2 shared cores:
read latencies relative to each other, within this run).

HNSW by usearch (the store's defaults: M 16, ef_construction 128, ef_search 64, float32, inner product;
threshold 1,000 chunks for SciFact so that it is indexed, the default 20,000 for the synthetic one), built on one thread by
the store's background worker; results re-scored with the exact float32 cosines. 300 SciFact test queries.
Synthetic rows: the 12,517 real SciFact vectors plus `normalise(real_i + 0.5·real_j + noise(norm 0.5))`,
stored as documents of 10 chunks; *not* real data, only to show how costs scale. "filtered" is
`Eq("missing", None)` on SciFact (allows every document, but takes the filter path: mask, oversample)
and `Eq("half", 0)` (50% of documents) on the synthetic collection. Reopen and update times exclude
reloading the float32 matrix from SQLite, which exact search needs as well.

{table(rows)}

Exact search alone (einsum over the first N rows of the synthetic matrix), ms:

| rows | p50 | p99 |
|---|---|---|
{scaling}
"""
    write_section("Dense search: exact vs HNSW (bench/ann.py)", body)
    print(body)


if __name__ == "__main__":
    main()
