"""The PostgreSQL + pgvector store next to the embedded SQLite store on BEIR SciFact, through Quarry's own code:
ingest time (parse → chunk → store, embeddings from a warm cache so both engines do the same model work),
nDCG@10 with 95% CIs per search path, and single-client search latency. The server is a real PostgreSQL
(pgserver) started in bench/_work/postgres, or QUARRY_BENCH_POSTGRES_URL.

    python bench/postgres.py [--split test] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import psycopg

from quarry.assembly import Quarry, build
from quarry.evaluation import hits_to_doc_ids, load_beir
from quarry.evaluation.runner import evaluate
from quarry.ingest.sources import FileSource
from quarry.retrieval.search import Searcher
from quarry.settings import RetrievalSettings, Settings, StoreSettings, TracingSettings
from quarry.testing.postgres import new_database, start_server
from quarry.tracing import Tracer
from results import machine, write_section

BENCH = Path(__file__).resolve().parent
DATA = BENCH.parents[1] / "shared/datasets/scifact"
WORK = BENCH / "_work"
COLLECTION = "scifact"
MODES = ("bm25", "dense", "hybrid")


def system(store: StoreSettings) -> Quarry:
    return build(Settings(store=store, tracing=TracingSettings(enabled=False)))


def ingest(quarry: Quarry) -> float:
    started = time.perf_counter()
    report = quarry.ingestor.run(FileSource(DATA / "corpus.jsonl.gz", max_bytes=10**10), COLLECTION)
    if not report.ok:
        raise SystemExit(f"ingest failed: {report.failures[:1]}")
    return time.perf_counter() - started


def measure(quarry: Quarry, split: str) -> dict[str, tuple[str, str, str]]:
    data = load_beir(DATA, split)
    rows = {}
    for mode in MODES:
        searcher = Searcher(quarry.store, quarry.embedder, Tracer(), RetrievalSettings(mode=mode))

        def retrieve(query: str, k: int, searcher: Searcher = searcher) -> list[str]:
            hits = searcher.search(query, COLLECTION, k=k).hits
            return hits_to_doc_ids(hits, lambda hit: hit.document_uri.rsplit("#", 1)[1])

        for query in list(data.queries.values())[:20]:  # warm-up
            retrieve(query, 10)
        report = evaluate(data, lambda query, retrieve=retrieve: retrieve(query, 10), ks=(10,), name=mode)
        ci = report.summary["ndcg@10"]
        rows[mode] = (
            f"{ci.mean:.3f} [{ci.low:.3f}, {ci.high:.3f}]",
            f"{report.latency.p50:.1f}",
            f"{report.latency.p95:.1f}",
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="test")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    cache_home = WORK / "postgres-bench"  # the embedding cache both engines read (beside the store path)
    cache_home.mkdir(parents=True, exist_ok=True)
    warm = system(StoreSettings(path=cache_home / "quarry.db"))  # fills the embedding cache once, untimed
    warm.ingestor.run(FileSource(DATA / "corpus.jsonl.gz", max_bytes=10**10), COLLECTION)
    warm.close()
    server = os.environ.get("QUARRY_BENCH_POSTGRES_URL") or start_server(WORK / "postgres")
    engines = {
        "SQLite (embedded)": StoreSettings(path=cache_home / "fresh.db"),
        "PostgreSQL 16 + pgvector": StoreSettings(path=cache_home / "quarry.db", url=new_database(server, "bench")),
    }
    (cache_home / "fresh.db").unlink(missing_ok=True)
    lines = ["| engine | ingest s | mode | nDCG@10 [95% CI] | p50 ms | p95 ms |", "|---|---:|---|---|---:|---:|"]
    for name, store in engines.items():
        if store.url is None:  # the SQLite store reads its caches beside its own path: share the warm one
            (cache_home / "fresh.embeddings.db").unlink(missing_ok=True)
            (cache_home / "fresh.embeddings.db").symlink_to(cache_home / "quarry.embeddings.db")
        quarry = system(store)
        seconds = ingest(quarry)
        if store.url is not None:  # what autovacuum does soon after a large ingest: statistics, visibility map
            with psycopg.connect(store.url, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
        info = quarry.store.collection(COLLECTION)
        for mode, (ndcg, p50, p95) in measure(quarry, args.split).items():
            lines.append(f"| {name} | {seconds:.1f} | {mode} | {ndcg} | {p50} | {p95} |")
        print(f"{name}: {info.documents} documents, {info.chunks} chunks", file=sys.stderr)
        quarry.close()
    command = "python bench/postgres.py " + " ".join(sys.argv[1:])
    text = (
        f"`{command.strip()}` — {machine()}. SciFact {args.split} queries, k=10, one client; ingest with the "
        "embedding cache warm, so the column measures parsing, chunking and the store's writes; PostgreSQL is "
        "searched after VACUUM ANALYZE (what autovacuum does soon after a large ingest).\n\n" + "\n".join(lines)
    )
    print(text)
    if not args.no_write:
        write_section("Store engines: PostgreSQL + pgvector next to SQLite (SciFact)", text)


if __name__ == "__main__":
    main()
