"""Ablation of Quarry's retrieval stages on BEIR SciFact: each stage's contribution with 95% CIs.

    python bench/ablation.py [--split test] [--store bench/_work/scifact]

Every row runs the same queries through `Searcher` with one setting changed from the default, and a
paired randomization test compares it with the default. Stages that need a second model or the LLM
(reranking, HyDE, multi-query) are measured by bench/rerank.py and bench/expansion.py, which cache
those models' outputs; their sections in RESULTS.md have the figures. Needs the SciFact collection
(`python bench/ingest.py --keep bench/_work/scifact`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from quarry.assembly import build
from quarry.embeddings import MiniLMEmbedder
from quarry.evaluation import EvalReport, compare, evaluate, hits_to_doc_ids, load_beir
from quarry.retrieval.search import Searcher
from quarry.settings import RetrievalSettings, Settings, StoreSettings
from quarry.tracing import Tracer
from results import machine, scifact_parser, write_section

DATA = Path(__file__).resolve().parents[2] / "shared/datasets/scifact"
DEFAULT = "default: hybrid z-score 0.5 over documents scored on both paths, BM25 k1 0.9 b 0.4, int8 query twin"
TWIN = "dynamic-int8"
BM25S_DEFAULTS = {"bm25_k1": 1.5, "bm25_b": 0.75}
# name → (retrieval settings changed, query model, store settings changed)
ROWS: dict[str, tuple[dict[str, Any], str, dict[str, float]]] = {
    DEFAULT: ({}, TWIN, {}),
    "− fusion: BM25 only": ({"mode": "bm25"}, TWIN, {}),
    "− fusion: dense only": ({"mode": "dense"}, TWIN, {}),
    "chunk fusion (each path's top 100 chunks, a floor for the missing)": ({"fusion_unit": "chunk"}, TWIN, {}),
    "BM25 k1 1.5 b 0.75 (bm25s's defaults)": ({}, TWIN, BM25S_DEFAULTS),
    "both: chunk fusion and BM25 k1 1.5 b 0.75 (the previous default)": (
        {"fusion_unit": "chunk"},
        TWIN,
        BM25S_DEFAULTS,
    ),
    "fusion RRF k=60 instead of z-score": ({"fusion": "rrf"}, TWIN, {}),
    "fusion min-max instead of z-score": ({"fusion": "minmax"}, TWIN, {}),
    "packaged query model instead of the twin": ({}, "packaged", {}),
    "+ near-duplicate collapse (Jaccard 0.8)": ({"duplicate_threshold": 0.8}, TWIN, {}),
    "+ MMR λ 0.8 over 30": ({"mmr_lambda": 0.8}, TWIN, {}),
    "+ MMR λ 0.5 over 30": ({"mmr_lambda": 0.5}, TWIN, {}),
    "no per-document limit (default: 1; chunk fusion)": ({"max_chunks_per_document": 0}, TWIN, {}),
}


def doc_id(hit: Any) -> str:
    return str(hit.document_uri).rsplit("#", 1)[1]


def run_row(store: Any, data: Any, name: str, overrides: dict[str, Any], query_model: str) -> tuple[EvalReport, float]:
    embedder = MiniLMEmbedder(query_model=query_model)  # type: ignore[arg-type]
    searcher = Searcher(store, embedder, Tracer(), RetrievalSettings.model_validate(overrides))
    searcher.search("warm up", "scifact", k=10)
    report = evaluate(data, lambda q: hits_to_doc_ids(searcher.search(q, "scifact", k=100).hits, doc_id), name=name)
    times = []
    for query in data.queries.values():
        began = time.perf_counter()
        searcher.search(query, "scifact", k=10)
        times.append((time.perf_counter() - began) * 1000)
    return report, float(np.percentile(times, 50))


def query_models(queries: list[str]) -> str:
    """The query twin against the packaged model: encode time (one thread) and vector agreement."""
    twin, packaged = MiniLMEmbedder(query_model="dynamic-int8"), MiniLMEmbedder(query_model="packaged", threads=1)
    times: dict[str, list[float]] = {"packaged": [], "dynamic-int8 twin": []}
    vectors: dict[str, list[Any]] = {name: [] for name in times}
    for model, name in ((packaged, "packaged"), (twin, "dynamic-int8 twin")):
        model.embed_query("warm up")
        for query in queries:
            began = time.perf_counter()
            vectors[name].append(model.embed_query(query))
            times[name].append((time.perf_counter() - began) * 1000)
    cosines = (np.stack(vectors["packaged"]) * np.stack(vectors["dynamic-int8 twin"])).sum(axis=1)
    rows = "\n".join(f"| {n} | {np.percentile(t, 50):.2f} | {np.percentile(t, 99):.2f} |" for n, t in times.items())
    return f"""Query encoding, one query at a time, one onnxruntime thread ({len(queries)} queries, ms):

| query model | p50 | p99 |
|---|---|---|
{rows}

Cosine between the twin's and the packaged model's query vectors: mean {cosines.mean():.4f}, min {cosines.min():.4f}."""


def main() -> None:
    args = scifact_parser(__doc__, "test").parse_args()
    data = load_beir(DATA, args.split)
    results = {}
    for name, (overrides, query_model, store_overrides) in ROWS.items():
        quarry = build(Settings(store=StoreSettings(path=args.store / "quarry.db", **store_overrides)))
        results[name] = run_row(quarry.store, data, name, overrides, query_model)
        quarry.close()
    base = results[DEFAULT][0]
    lines = [
        "| configuration | nDCG@10 [95% CI] | Δ vs default [95% CI] | p | Recall@100 | p50 ms (k=10) |",
        "|---|---|---|---|---|---|",
    ]
    for name, (report, p50) in results.items():
        ci = report.summary["ndcg@10"]
        cell = f"{ci.mean:.3f} [{ci.low:.3f}, {ci.high:.3f}]"
        if name == DEFAULT:
            delta, p = "–", "–"
        else:
            test = compare(base, report).test
            delta = f"{test.difference.mean:+.4f} [{test.difference.low:+.4f}, {test.difference.high:+.4f}]"
            p = f"{test.p_value:.3f}"
        lines.append(f"| {name} | {cell} | {delta} | {p} | {report.summary['recall@100'].mean:.3f} | {p50:.1f} |")
    body = f"""Command: `python bench/ablation.py --split {args.split}` on BEIR SciFact {args.split} ({len(data.queries)}
queries; every setting chosen on the train split). Machine: {machine()}; load average at the end
{psutil_load()}. One setting changed per row; Δ and p from a paired randomization test against the default.

{chr(10).join(lines)}

{query_models(list(data.queries.values()))}

Stages with a second model or the LLM are in "Reranking: SciFact" (bench/rerank.py) and
"Query expansion" (bench/expansion.py)."""
    print(body)
    if not args.no_write:
        write_section(f"Ablation: SciFact {args.split}", body)


def psutil_load() -> str:
    import os

    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
