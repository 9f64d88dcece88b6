"""Quarry's retrieval on BEIR SciFact: each path and fusion method, nDCG@10 etc. with 95% CIs,
latency at k=10, and paired tests against plain RRF.

    python bench/retrieval.py [--store bench/_work/scifact] [--split test]

Needs the SciFact collection: `python bench/ingest.py --keep bench/_work/scifact` builds it (the
corpus is ingested here too if missing — ~10 minutes of embedding on 2 cores).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from quarry.assembly import build
from quarry.evaluation import compare, comparison_table, evaluate, hits_to_doc_ids, load_beir, markdown_table
from quarry.ingest.sources import FileSource
from quarry.retrieval.search import Searcher
from quarry.settings import RetrievalSettings, Settings, StoreSettings
from quarry.tracing import Tracer
from results import machine, write_section

DATA = Path(__file__).resolve().parents[2] / "shared/datasets/scifact"
CONFIGS = {
    "bm25 (parent-document, bm25s)": RetrievalSettings(mode="bm25"),
    "dense (MiniLM int8, exact)": RetrievalSettings(mode="dense"),
    "hybrid RRF k=60": RetrievalSettings(mode="hybrid", fusion="rrf"),
    "hybrid min-max 0.5": RetrievalSettings(mode="hybrid", fusion="minmax"),
    "hybrid z-score 0.5 (default)": RetrievalSettings(mode="hybrid", fusion="zscore"),
}
METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10", "map@100")


def latency(searcher: Searcher, queries: list[str]) -> tuple[float, float]:
    times = []
    for query in queries:
        began = time.perf_counter()
        searcher.search(query, "scifact", k=10)
        times.append((time.perf_counter() - began) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, default=Path("bench/_work/scifact"))
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    data = load_beir(DATA, args.split)
    quarry = build(Settings(store=StoreSettings(path=args.store / "quarry.db")))
    quarry.ingestor.run(FileSource(DATA / "corpus.jsonl.gz", max_bytes=10**10), "scifact")
    reports, timing = [], {}
    for name, settings in CONFIGS.items():
        searcher = Searcher(quarry.store, quarry.embedder, Tracer(), settings)
        searcher.search("warm up", "scifact", k=1)
        reports.append(
            evaluate(
                data,
                lambda q, s=searcher: hits_to_doc_ids(
                    s.search(q, "scifact", k=100).hits, lambda h: h.document_uri.rsplit("#", 1)[1]
                ),
                name=name,
            )
        )
        timing[name] = latency(searcher, list(data.queries.values()))
    rows = "\n".join(f"| {n} | {p50:.1f} | {p99:.1f} |" for n, (p50, p99) in timing.items())
    paired = comparison_table([compare(reports[2], r) for r in reports[3:]])
    body = f"""Command: `python bench/retrieval.py --split {args.split}` on BEIR SciFact ({len(data.queries)} queries;
settings chosen on the train split). Machine: {machine()}.

{markdown_table(reports, METRICS)}

Latency of `Searcher.search(k=10)` (query embedding included, warm indexes, ms):

| configuration | p50 | p99 |
|---|---|---|
{rows}

Paired comparison against plain RRF (randomization test, 10,000 sign flips):

{paired}
"""
    print(body)
    write_section(f"Retrieval quality and latency: SciFact {args.split}", body)
    quarry.close()


if __name__ == "__main__":
    main()
