"""Search latency of the SQLite store: 10,000 chunks of 384-d vectors and ~80-word texts.

Run: ``python bench/store_search.py [--chunks 10000] [--dimension 384] [--queries 200]``.
Prints p50/p99 per search path (after the first vector load, which is timed on its own).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from quarry.stores.base import DocumentWrite
from quarry.stores.filters import Eq
from quarry.stores.sqlite import SQLiteStore
from quarry.types import Chunk, Document

CHUNKS_PER_DOCUMENT = 10
VOCABULARY = [f"w{i:05d}" for i in range(20_000)]
QUERY_WORDS = VOCABULARY[:5000]  # the commoner words, so most queries match something


def corpus(
    chunks: int, dimension: int, rng: np.random.Generator, per_document: int = CHUNKS_PER_DOCUMENT
) -> tuple[list[DocumentWrite], list[str]]:
    """Documents of ``per_document`` chunks of Zipf-distributed words with random unit vectors,
    and the words queries should draw from."""
    weights = 1.0 / np.arange(1, len(VOCABULARY) + 1)  # Zipf-like word frequencies
    weights /= weights.sum()
    vectors = rng.standard_normal((chunks, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    writes = []
    for d in range(chunks // per_document):
        texts = [" ".join(rng.choice(VOCABULARY, size=80, p=weights)) for _ in range(per_document)]
        text = "\n\n".join(texts)
        doc = Document(f"bench://{d}", f"bench://{d}", text, f"doc {d}", metadata={"group": d % 4})
        spans, start = [], 0
        for i, piece in enumerate(texts):
            spans.append(Chunk(doc.id, i, piece, start, start + len(piece), token_count=80))
            start += len(piece) + 2
        rows = vectors[d * per_document : (d + 1) * per_document]
        writes.append(DocumentWrite(doc, spans, rows))
    return writes, QUERY_WORDS


def timed(call: Callable[[], object], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--dimension", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    writes, words = corpus(args.chunks, args.dimension, rng)
    queries = rng.standard_normal((args.queries, args.dimension)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    texts = [" ".join(rng.choice(words, size=int(rng.integers(2, 7)))) for _ in range(args.queries)]
    with tempfile.TemporaryDirectory() as tmp, SQLiteStore(Path(tmp) / "bench.db") as store:
        store.ensure_collection("bench", embedder="random")
        began = time.perf_counter()
        store.write("bench", upserts=writes)
        print(f"write {args.chunks} chunks in one transaction: {time.perf_counter() - began:.2f} s")
        began = time.perf_counter()
        store.search_vector("bench", queries[0], 10)
        print(f"first search_vector (loads the matrix): {(time.perf_counter() - began) * 1000:.1f} ms")
        it = iter(range(10**9))
        cases: list[tuple[str, Callable[[], object]]] = [
            ("search_vector k=10", lambda: store.search_vector("bench", queries[next(it) % len(queries)], 10)),
            (
                "search_vector k=10 filtered (1/4 match)",
                lambda: store.search_vector("bench", queries[next(it) % len(queries)], 10, Eq("group", 1)),
            ),
            ("search_text k=10", lambda: store.search_text("bench", texts[next(it) % len(texts)], 10)),
            (
                "search_text k=10 filtered (1/4 match)",
                lambda: store.search_text("bench", texts[next(it) % len(texts)], 10, Eq("group", 1)),
            ),
        ]
        print(f"{args.chunks} chunks x {args.dimension} dims, {args.queries} queries each")
        for name, call in cases:
            p50, p99 = timed(call, args.queries)
            print(f"  {name:42s} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")


if __name__ == "__main__":
    main()
