"""What document fusion costs as documents get longer.

The default hybrid search scores each candidate document by its best chunk on *both* paths
(``Store.best_chunks``), so its work grows with the number of chunks in the candidate documents,
while chunk fusion only fuses the two top-``depth`` chunk lists. This bench holds the collection at
19,200 chunks (below the HNSW threshold, so both paths are exact) and varies chunks per document.

Run: ``python bench/long_documents.py [--queries 200] [--no-write]``.
Texts are Zipf-distributed words and chunk vectors are random unit vectors (the cost does not
depend on what the vectors mean); each query is embedded by the default MiniLM query encoder, as
in production. The two configurations alternate query by query, so machine noise falls on both.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from quarry.embeddings import MiniLMEmbedder
from quarry.retrieval.search import Searcher
from quarry.settings import RetrievalSettings
from quarry.stores.sqlite import SQLiteStore
from quarry.tracing import Tracer
from results import machine, write_section
from store_search import QUERY_WORDS, corpus

CHUNKS = 19_200
PER_DOCUMENT = (1, 4, 16, 64, 256)
CONFIGURATIONS = {
    "document fusion (default)": RetrievalSettings(),
    "chunk fusion": RetrievalSettings(fusion_unit="chunk"),
}


def one_size(per_document: int, queries: list[str], embedder: MiniLMEmbedder) -> dict[str, list[float]]:
    """Milliseconds per ``Searcher.search(k=10)`` for each configuration, queries interleaved."""
    writes, _ = corpus(CHUNKS, 384, np.random.default_rng(0), per_document)
    with tempfile.TemporaryDirectory() as tmp, SQLiteStore(Path(tmp) / "bench.db") as store:
        store.ensure_collection("bench", embedder=embedder.model_id)
        store.write("bench", upserts=writes)
        searchers = {name: Searcher(store, embedder, Tracer(), settings) for name, settings in CONFIGURATIONS.items()}
        for searcher in searchers.values():
            searcher.search("warm up", "bench", k=10)
        times: dict[str, list[float]] = {name: [] for name in searchers}
        for i, query in enumerate(queries):
            order = list(searchers.items()) if i % 2 == 0 else list(reversed(searchers.items()))
            for name, searcher in order:
                began = time.perf_counter()
                searcher.search(query, "bench", k=10)
                times[name].append((time.perf_counter() - began) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--no-write", action="store_true", help="print the results without updating RESULTS.md")
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    queries = [" ".join(rng.choice(QUERY_WORDS, size=int(rng.integers(2, 7)))) for _ in range(args.queries)]
    embedder = MiniLMEmbedder()
    rows = []
    for per_document in PER_DOCUMENT:
        times = one_size(per_document, queries, embedder)
        cells = " | ".join(f"{np.percentile(t, 50):.1f} / {np.percentile(t, 99):.1f}" for t in times.values())
        rows.append(f"| {per_document} | {CHUNKS // per_document:,} | {cells} |")
        print(rows[-1], flush=True)
    names = " | ".join(f"{name} p50 / p99 ms" for name in CONFIGURATIONS)
    body = f"""Command: `python bench/long_documents.py --queries {args.queries}`. Machine: {machine()}.

{CHUNKS:,} chunks of 80 Zipf-distributed words with random 384-d unit vectors; `Searcher.search(k=10)`,
hybrid, query embedded by MiniLM's default int8 query twin (included), {args.queries} queries of
2-6 words, the two configurations alternating query by query.

| chunks per document | documents | {names} |
|---:|---:|---:|---:|
{chr(10).join(rows)}
"""
    print(body)
    if not args.no_write:
        write_section("Document fusion and document length", body)


if __name__ == "__main__":
    main()
