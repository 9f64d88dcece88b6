"""Query routing across collections on a real mixed store, measured.

    flock /tmp/quarry-latency.lock python bench/routing.py

Builds (once; reruns are no-op ingests) four collections with MiniLM in
``bench/_work/exp_rewrite_routing``: a 300-document SciFact slice (every judged document of a seeded
100 test and 60 train claims, plus seeded distractors), Paul Graham's essay, four business PDFs and
300 Presidio synthetic personal texts. Queries with a known home: the SciFact claims and the
questions written in ``tests/retrieval/test_routing.py``.

Reports (1) top-1 accuracy and routed-set recall over a grid of router settings on the *tuning* set
(train claims + written questions), (2) the chosen defaults on the *evaluation* set (test claims +
the same written questions — there is no held-out set of those), and (3) nDCG@10 on the test claims
of searching the routed collections vs. all four collections fused by RRF vs. SciFact alone.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from quarry.assembly import Quarry, build
from quarry.evaluation import RetrievalDataset, compare, comparison_table, evaluate, load_beir, markdown_table
from quarry.ingest.sources import FileSource
from quarry.retrieval.routing import Router, fuse_collections
from quarry.retrieval.search import Mode
from quarry.settings import Settings, StoreSettings
from results import machine, write_section

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.retrieval.test_routing import (  # noqa: E402  (the written questions live with the test)
    BUSINESS_PDFS,
    BUSINESS_QUESTIONS,
    DESCRIPTIONS,
    ESSAY_QUESTIONS,
    PEOPLE_QUESTIONS,
)

DATASETS = REPO.parent / "shared/datasets"
SCIFACT = DATASETS / "scifact"
PDFS = DATASETS / "documents/markitdown/packages/markitdown/tests/test_files"
WORK = REPO / "bench/_work/exp_rewrite_routing"
BIG = 10**9
TOP = 20


@dataclass
class Signals:
    """Per query and collection (in ``names`` order): top-``TOP`` chunk cosines and the description cosine."""

    names: list[str]
    nearest: np.ndarray  # (queries, collections, TOP)
    description: np.ndarray  # (queries, collections)


def scifact_slice() -> tuple[Path, dict[str, str], dict[str, str], RetrievalDataset]:
    test, train = load_beir(SCIFACT, "test"), load_beir(SCIFACT, "train")
    test_ids = sorted(random.Random(0).sample(sorted(test.queries), 100))
    train_ids = sorted(random.Random(1).sample(sorted(train.queries), 60))
    gold = {d for q in test_ids for d in test.qrels[q]} | {d for q in train_ids for d in train.qrels[q]}
    fill = random.Random(2).sample(sorted(set(test.corpus) - gold), 300 - len(gold))
    path = WORK / "scifact-slice.jsonl"
    if not path.exists():
        rows = [{"_id": d, "title": test.corpus[d].title, "text": test.corpus[d].text} for d in sorted(gold) + fill]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    sub = replace(test, queries={q: test.queries[q] for q in test_ids}, qrels={q: test.qrels[q] for q in test_ids})
    return path, {q: test.queries[q] for q in test_ids}, {q: train.queries[q] for q in train_ids}, sub


def people() -> Path:
    path = WORK / "people.jsonl"
    if not path.exists():
        records = json.loads((DATASETS / "pii/presidio_synth_dev.json").read_text())
        texts = [r["full_text"] for r in records if len(r["full_text"].split()) >= 4][:300]
        path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts)))
    return path


def ingest(quarry: Quarry, slice_path: Path) -> None:
    sources = {
        "scifact": [slice_path],
        "essay": [DATASETS / "paul-graham-essay/data/paul_graham/paul_graham_essay.txt"],
        "business": [PDFS / name for name in BUSINESS_PDFS],
        "people": [people()],
    }
    for name, paths in sources.items():
        quarry.store.ensure_collection(name, embedder=quarry.embedder.model_id, description=DESCRIPTIONS[name])
        for path in paths:
            quarry.ingestor.run(FileSource(path, max_bytes=BIG), name)


def signals(quarry: Quarry, queries: list[str]) -> Signals:
    names = list(DESCRIPTIONS)
    embed = quarry.embedder.embed_query  # as the Router: the embedder's query-side model
    described = np.array([embed(DESCRIPTIONS[n]) for n in names])
    vectors = np.array([embed(query) for query in queries])
    nearest = np.full((len(queries), len(names), TOP), np.nan)  # NaN: a collection with fewer chunks
    for i, vector in enumerate(vectors):
        for j, name in enumerate(names):
            found = [score for _, score in quarry.store.rank_vector(name, vector, TOP)]
            nearest[i, j, : len(found)] = found
    return Signals(names, nearest, vectors @ described.T)


def scores(sig: Signals, k: int, weight: float) -> np.ndarray:
    combined: np.ndarray = weight * sig.description + (1 - weight) * np.nanmean(sig.nearest[:, :, :k], axis=2)
    return combined


def routing_quality(sig: Signals, homes: list[str], k: int, weight: float, margin: float) -> tuple[float, float, float]:
    """(top-1 accuracy, recall of the routed set, mean routed set size)."""
    s = scores(sig, k, weight)
    home = np.array([sig.names.index(h) for h in homes])
    top1 = float(np.mean(s.argmax(axis=1) == home))
    routed = s >= s.max(axis=1, keepdims=True) - margin
    recall = float(np.mean(routed[np.arange(len(home)), home]))
    return top1, recall, float(routed.sum(axis=1).mean())


def grid(sig: Signals, homes: list[str]) -> str:
    rows = []
    for k in (1, 5, 20):
        for weight in (0.0, 0.3, 0.5, 1.0):
            for margin in (0.0, 0.05, 0.1):
                top1, recall, size = routing_quality(sig, homes, k, weight, margin)
                rows.append(f"| {k} | {weight} | {margin} | {top1:.3f} | {recall:.3f} | {size:.2f} |")
    head = "| k | description weight | margin | top-1 accuracy | routed recall | collections searched |"
    return "\n".join([head, "|---|---|---|---|---|---|", *rows])


def per_home(sig: Signals, homes: list[str], router: Router) -> str:
    s = scores(sig, router.k, router.description_weight)
    rows = []
    for name in sig.names:
        idx = [i for i, h in enumerate(homes) if h == name]
        first = np.mean(s[idx].argmax(axis=1) == sig.names.index(name))
        rows.append(f"| {name} | {len(idx)} | {first:.3f} |")
    return "\n".join(["| home collection | queries | top-1 accuracy |", "|---|---|---|", *rows])


def searcher_run(
    quarry: Quarry, choose: Callable[[str], list[str]], mode: Mode = "hybrid"
) -> Callable[[str], list[str]]:
    """Search the chosen collections and merge: hybrid by RRF (its fused scores are per-collection
    z-scores, not comparable), dense by cosine (comparable: one model). SciFact hits become corpus ids."""

    def run(query: str) -> list[str]:
        hits = {name: quarry.searcher.search(query, name, k=100, mode=mode).hits for name in choose(query)}
        uri = {(name, h.chunk.id): h.document_uri for name, found in hits.items() for h in found}
        if mode == "hybrid":
            runs = {name: [(h.chunk.id, h.score) for h in found] for name, found in hits.items()}
            merged = [(n, key) for n, key, _ in fuse_collections(runs)]
        else:
            pooled = sorted(((h.score, n, h.chunk.id) for n, found in hits.items() for h in found), reverse=True)
            merged = [(n, key) for _, n, key in pooled]
        ids = [uri[(n, key)].rsplit("#", 1)[1] if n == "scifact" else uri[(n, key)] for n, key in merged[:100]]
        return list(dict.fromkeys(ids))

    return run


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    quarry = build(Settings(store=StoreSettings(path=WORK / "quarry.db")))
    slice_path, test_claims, train_claims, test_data = scifact_slice()
    ingest(quarry, slice_path)
    written = {q: "essay" for q in ESSAY_QUESTIONS} | {q: "business" for q in BUSINESS_QUESTIONS}
    written |= {q: "people" for q in PEOPLE_QUESTIONS}
    tune = {q: "scifact" for q in train_claims.values()} | written
    held = {q: "scifact" for q in test_claims.values()} | written
    tune_sig, held_sig = signals(quarry, list(tune)), signals(quarry, list(held))
    router = Router(quarry.store, quarry.embedder)
    top1, recall, size = routing_quality(
        held_sig, list(held.values()), router.k, router.description_weight, router.margin
    )
    router.rank("warm up")
    times = []
    for query in held:
        began = time.perf_counter()
        router.rank(query)
        times.append((time.perf_counter() - began) * 1000)
    systems: dict[str, tuple[Callable[[str], list[str]], Mode]] = {
        "SciFact collection only (oracle)": (lambda q: ["scifact"], "hybrid"),
        "all 4 collections, hybrid, RRF across collections": (lambda q: list(DESCRIPTIONS), "hybrid"),
        "routed collections, hybrid, RRF across collections": (router.route, "hybrid"),
        "SciFact only, dense (oracle)": (lambda q: ["scifact"], "dense"),
        "all 4 collections, dense, merged by cosine": (lambda q: list(DESCRIPTIONS), "dense"),
        "routed collections, dense, merged by cosine": (router.route, "dense"),
    }
    reports = [evaluate(test_data, searcher_run(quarry, c, m), name=n) for n, (c, m) in systems.items()]
    paired = comparison_table(
        [compare(reports[1], reports[2]), compare(reports[0], reports[2]), compare(reports[4], reports[5])]
    )
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    counts = {name: quarry.store.collection(name).chunks for name in DESCRIPTIONS}
    body = f"""Command: `flock /tmp/quarry-latency.lock python bench/routing.py`. Machine: {machine()}.
Store: {", ".join(f"{n} ({c} chunks)" for n, c in counts.items())}; MiniLM int8; descriptions as in
`tests/retrieval/test_routing.py`. Queries: {len(train_claims)} SciFact train claims (tuning), {len(test_claims)}
SciFact test claims (evaluation), and {len(written)} written questions (essay {len(ESSAY_QUESTIONS)}, business
{len(BUSINESS_QUESTIONS)}, people {len(PEOPLE_QUESTIONS)}) in both sets. Chance top-1 accuracy: 0.25.

Grid on the tuning set ({len(tune)} queries; score = w · description cosine + (1 − w) · mean top-k chunk cosine,
routed set = within `margin` of the best):

{grid(tune_sig, list(tune.values()))}

Defaults (k={router.k}, description weight {router.description_weight}, margin {router.margin}) on the evaluation
set ({len(held)} queries): **top-1 accuracy {top1:.3f}, routed-set recall {recall:.3f}, {size:.2f} collections
searched per query**. Router latency (4 collections, query embedding included): p50 {statistics.median(times):.1f} ms,
max {max(times):.1f} ms; load `{load}`.

{per_home(held_sig, list(held.values()), router)}

Search quality on the {len(test_claims)} SciFact test claims (100 hits per collection, merged as named; latency
columns are whole searches over the chosen collections):

{markdown_table(reports, ("ndcg@10", "recall@10", "recall@100"))}

Paired comparisons (nDCG@10, randomization test):

{paired}
"""
    print(body)
    write_section("Query routing across collections", body)
    quarry.close()


if __name__ == "__main__":
    main()
