"""LLM query expansion on BEIR SciFact: HyDE and multi-query against the default hybrid search.

    python bench/expansion.py --split train --limit 100     # choose (a seeded sample of train)
    python bench/expansion.py --split test                  # report (all 300 test claims)
    flock /tmp/quarry-latency.lock python bench/expansion.py --timing 30   # added latency, uncached

Every configuration searches the same store (``bench/_work/scifact``, built by ``bench/ingest.py``)
with BM25 on the claim and 100 candidates per path. The model's outputs are cached in
``bench/_work/exp_rewrite_cache.sqlite`` (keyed by model, messages and settings), so a rerun only
re-scores; ``--timing`` bypasses the cache and times the whole search per query.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sqlite3
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from quarry.assembly import Quarry, build
from quarry.evaluation import (
    EvalReport,
    RetrievalDataset,
    compare,
    comparison_table,
    evaluate,
    load_beir,
    markdown_table,
)
from quarry.generation import load_prompt
from quarry.llm.base import ChatModel, ChatSettings, Completion, StreamEvent, ToolSpec
from quarry.llm.local import LocalChatModel
from quarry.retrieval.query_rewrite import (
    CrossQueryFusion,
    Rewrite,
    expand_queries,
    hyde_vector,
    hypothetical_passage,
    mix_vectors,
    rank_expanded,
    rank_hybrid,
)
from quarry.retrieval.search import Searcher
from quarry.settings import Settings, StoreSettings
from quarry.tracing import Tracer
from quarry.types import Message
from results import machine, write_section

DATA = Path(__file__).resolve().parents[2] / "shared/datasets/scifact"
CACHE = Path(__file__).resolve().parent / "_work/exp_rewrite_cache.sqlite"
COLLECTION = "scifact"
DEPTH = 100
METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")
HYDE, MULTI = "hyde@1", "multi_query@1"


class CachedChat:
    """A ChatModel that answers repeated calls from SQLite (bench only: reruns re-score for free)."""

    def __init__(self, inner: ChatModel, path: Path) -> None:
        self.inner = inner
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, completion TEXT)")

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def supports_json_schema(self) -> bool:
        return self.inner.supports_json_schema

    def complete(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Completion:
        call = [self.model_id, [(m.role, m.content) for m in messages], asdict(settings or ChatSettings())]
        key = hashlib.sha256(json.dumps(call).encode()).hexdigest()
        row = self.db.execute("SELECT completion FROM calls WHERE key = ?", (key,)).fetchone()
        if row:
            saved = json.loads(row[0])
            return Completion(saved["text"], model=saved["model"], latency_s=saved["latency_s"])
        done = self.inner.complete(messages, settings=settings)
        record = {"text": done.text, "model": done.model, "latency_s": done.latency_s}
        self.db.execute("INSERT OR REPLACE INTO calls VALUES (?, ?)", (key, json.dumps(record)))
        self.db.commit()
        return done

    def stream(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Iterator[StreamEvent]:
        return self.inner.stream(messages, settings=settings, tools=tools, response_schema=response_schema)

    def close(self) -> None:
        self.db.close()
        self.inner.close()


@dataclass
class Expansions:
    hyde: dict[str, Rewrite]
    multi: dict[str, Rewrite]


def subset(data: RetrievalDataset, limit: int | None) -> RetrievalDataset:
    if limit is None or limit >= len(data.queries):
        return data
    chosen = sorted(random.Random(0).sample(sorted(data.queries), limit))
    return replace(data, queries={q: data.queries[q] for q in chosen}, qrels={q: data.qrels[q] for q in chosen})


def generate(data: RetrievalDataset, chat: ChatModel) -> Expansions:
    hyde_prompt, multi_prompt = load_prompt(HYDE), load_prompt(MULTI)
    out = Expansions({}, {})
    began = time.perf_counter()
    for i, query in enumerate(data.queries.values(), 1):
        out.hyde[query] = hypothetical_passage(query, chat, hyde_prompt)
        out.multi[query] = expand_queries(query, chat, multi_prompt, n=3)
        if i % 20 == 0:
            print(f"  generated {i}/{len(data.queries)} in {time.perf_counter() - began:.0f} s", flush=True)
    return out


def doc_ids(quarry: Quarry, ranked: Sequence[tuple[str, float]]) -> list[str]:
    kept = list(ranked[:DEPTH])
    found = quarry.store.hits(COLLECTION, kept, "hybrid")
    return list(dict.fromkeys(found[key].document_uri.rsplit("#", 1)[1] for key, _ in kept if key in found))


def systems(quarry: Quarry, ex: Expansions) -> dict[str, Callable[[str], list[str]]]:
    store, embedder = quarry.store, quarry.embedder
    searcher = Searcher(store, embedder, Tracer())

    def baseline(q: str) -> list[str]:
        hits = searcher.search(q, COLLECTION, k=DEPTH).hits
        return list(dict.fromkeys(h.document_uri.rsplit("#", 1)[1] for h in hits))

    def hyde(weight: float, bm25_passage: bool = False) -> Callable[[str], list[str]]:
        def run(q: str) -> list[str]:
            rewrite = ex.hyde[q]
            if not rewrite.texts:
                return baseline(q)
            qv, pv = embedder.embed_query(q), embedder.embed_query(rewrite.texts[0])
            text = f"{q} {rewrite.texts[0]}" if bm25_passage else q
            return doc_ids(quarry, rank_hybrid(store, COLLECTION, text, mix_vectors(qv, pv, weight), DEPTH))

        return run

    def multi(fusion: CrossQueryFusion, original_weight: float) -> Callable[[str], list[str]]:
        def run(q: str) -> list[str]:
            queries = ex.multi[q].texts
            ranked = rank_expanded(
                store, embedder, COLLECTION, queries, DEPTH, fusion=fusion, original_weight=original_weight
            )
            return doc_ids(quarry, ranked)

        return run

    return {
        "hybrid (baseline)": baseline,
        "+HyDE, passage vector only": hyde(0.0),
        "+HyDE, mean of query and passage": hyde(0.5),
        "+HyDE, mean; passage also in BM25": hyde(0.5, bm25_passage=True),
        "+multi-query, RRF": multi("rrf", 1.0),
        "+multi-query, z-score mean": multi("zscore", 1.0),
        "+multi-query, z-score, original x2": multi("zscore", 2.0),
    }


def usage_line(ex: Expansions) -> str:
    n = len(ex.hyde)
    hyde_fb = sum(1 for r in ex.hyde.values() if r.fallback)
    multi_fb = sum(1 for r in ex.multi.values() if r.fallback)
    rewrites = statistics.mean(len(r.texts) - 1 for r in ex.multi.values())
    return (
        f"Model output: HyDE fell back to the plain query for {hyde_fb}/{n} claims; multi-query produced "
        f"{rewrites:.2f} usable rewrites per claim on average and none for {multi_fb}/{n}."
    )


def quality(args: argparse.Namespace, quarry: Quarry, chat: ChatModel) -> None:
    data = subset(load_beir(DATA, args.split), args.limit)
    print(f"{len(data.queries)} {args.split} claims: generating (cached in {CACHE})", flush=True)
    ex = generate(data, chat)
    reports: list[EvalReport] = []
    for name, run in systems(quarry, ex).items():
        reports.append(evaluate(data, run, name=name))
        print(f"  {name}: ndcg@10 {reports[-1].summary['ndcg@10'].mean:.4f}", flush=True)
    paired = comparison_table([compare(reports[0], r) for r in reports[1:]])
    scope = f"a seeded sample of {args.limit}" if args.limit else "all"
    command = f"python bench/expansion.py --split {args.split}" + (f" --limit {args.limit}" if args.limit else "")
    body = f"""Command: `{command}` — BEIR SciFact {args.split}, {scope} ({len(data.queries)}) claims;
LLM {chat.model_id} (prompts `{HYDE}`, `{MULTI}`, temperature 0, ≤96 new tokens, 3 rewrites).
Machine: {machine()}.

{usage_line(ex)}

{markdown_table(reports, METRICS)}

The p50/p95 columns time the scoring run with the model's outputs cached (load from other work included); the
latency the LLM adds is in the section "Query expansion latency (HyDE, multi-query)".

Paired comparison against the baseline (nDCG@10, randomization test, 10,000 sign flips):

{paired}
"""
    print(body)
    write_section(f"Query expansion (HyDE, multi-query): SciFact {args.split}", body)


def timing(args: argparse.Namespace, quarry: Quarry, chat: ChatModel) -> None:
    """Whole-search wall time per claim, uncached, for baseline / HyDE / multi-query."""
    data = subset(load_beir(DATA, "train"), args.timing)
    ex_chat = chat.inner if isinstance(chat, CachedChat) else chat
    searcher = Searcher(quarry.store, quarry.embedder, Tracer())
    hyde_prompt, multi_prompt = load_prompt(HYDE), load_prompt(MULTI)
    searcher.search("warm up", COLLECTION, k=10)
    expand_queries("warm up", ex_chat, multi_prompt)
    times: dict[str, list[float]] = {"baseline": [], "+HyDE": [], "+multi-query": []}
    for q in data.queries.values():
        began = time.perf_counter()
        searcher.search(q, COLLECTION, k=10)
        times["baseline"].append(time.perf_counter() - began)
        began = time.perf_counter()
        vec, _ = hyde_vector(q, ex_chat, quarry.embedder, hyde_prompt, query_weight=0.5)
        doc_ids(quarry, rank_hybrid(quarry.store, COLLECTION, q, vec, DEPTH)[:10])
        times["+HyDE"].append(time.perf_counter() - began)
        began = time.perf_counter()
        queries = expand_queries(q, ex_chat, multi_prompt).texts
        doc_ids(quarry, rank_expanded(quarry.store, quarry.embedder, COLLECTION, queries, DEPTH)[:10])
        times["+multi-query"].append(time.perf_counter() - began)
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    rows = "\n".join(
        f"| {name} | {statistics.median(t) * 1000:.0f} | {sorted(t)[int(0.95 * (len(t) - 1))] * 1000:.0f} |"
        for name, t in times.items()
    )
    body = f"""Command: `flock /tmp/quarry-latency.lock python bench/expansion.py --timing {args.timing}`
({args.timing} train claims, uncached LLM calls, {ex_chat.model_id} on 1 thread, k=10). Machine: {machine()}.
Load after the run: `{load}`.

| search | p50 ms | p95 ms |
|---|---|---|
{rows}
"""
    print(body)
    write_section("Query expansion latency (HyDE, multi-query)", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, default=Path("bench/_work/scifact"))
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=None, help="a seeded sample of this many claims")
    parser.add_argument("--model", default="smollm2", help="local model: smollm2, gemma3-270m or a .gguf path")
    parser.add_argument("--timing", type=int, default=0, help="time this many uncached train claims instead")
    args = parser.parse_args()
    quarry = build(Settings(store=StoreSettings(path=args.store / "quarry.db")))
    chat = CachedChat(LocalChatModel(args.model), CACHE)
    try:
        (timing if args.timing else quality)(args, quarry, chat)
    finally:
        chat.close()
        quarry.close()


if __name__ == "__main__":
    main()
