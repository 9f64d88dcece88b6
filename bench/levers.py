"""The levers tried for Quarry's retrieval default, on BEIR SciFact train (809 queries): BM25 k1/b,
the fusion unit and weight, and pseudo-relevance feedback (RM3 on BM25, Rocchio on the query vector).

    python bench/levers.py [--split train] [--store bench/_work/scifact]

Every row is paired with the default by a randomization test. The p-values are not corrected for
the ~35 rows, so a lone p ≈ 0.03 is what chance alone gives now and then; a setting was adopted
only if it led a region of the grid, not one cell. Needs the SciFact collection
(`python bench/ingest.py --keep bench/_work/scifact`).

Feedback runs re-implement the default pipeline with the store's public calls (rank, then each
candidate document scored by its best chunk on both paths, z-score fusion); their own baseline row
must equal the default, which the script checks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from quarry.assembly import build
from quarry.embeddings import MiniLMEmbedder
from quarry.evaluation import EvalReport, compare, evaluate, hits_to_doc_ids, load_beir
from quarry.retrieval.fusion import convex
from quarry.retrieval.search import Searcher
from quarry.settings import RetrievalSettings, Settings, StoreSettings
from quarry.stores.base import Store
from quarry.stores.sqlite.sparse import fold
from quarry.tracing import Tracer
from results import machine, scifact_parser, write_section

DATA = Path(__file__).resolve().parents[2] / "shared/datasets/scifact"
COLLECTION = "scifact"
BM25_GRID = [(k1, b) for k1 in (0.6, 0.9, 1.2, 1.5, 2.0) for b in (0.3, 0.4, 0.5, 0.75, 0.9)]
FUSION_ROWS: dict[str, dict[str, Any]] = {
    "chunk fusion, z-score, BM25 weight 0.5": {"fusion_unit": "chunk"},
    "document fusion, z-score, BM25 weight 0.4": {"bm25_weight": 0.4},
    "document fusion, z-score, BM25 weight 0.6": {"bm25_weight": 0.6},
    "document fusion, min-max": {"fusion": "minmax"},
    "document fusion, RRF k=60": {"fusion": "rrf"},
}
FEEDBACK_ROWS: list[tuple[str, str, dict[str, float]]] = [
    ("RM3: 5 documents, 10 terms, original weight 0.5", "rm3", {"docs": 5, "terms": 10, "keep": 0.5}),
    ("RM3: 5 documents, 10 terms, original weight 0.7", "rm3", {"docs": 5, "terms": 10, "keep": 0.7}),
    ("RM3: 10 documents, 10 terms, original weight 0.7", "rm3", {"docs": 10, "terms": 10, "keep": 0.7}),
    ("Rocchio on the query vector: 3 documents, original weight 0.5", "rocchio", {"docs": 3, "keep": 0.5}),
    ("Rocchio on the query vector: 3 documents, original weight 0.7", "rocchio", {"docs": 3, "keep": 0.7}),
    ("Rocchio on the query vector: 10 documents, original weight 0.7", "rocchio", {"docs": 10, "keep": 0.7}),
]
Retrieve = Callable[[str], list[str]]


def doc_id(hit: Any) -> str:
    return str(hit.document_uri).rsplit("#", 1)[1]


class Pipeline:
    """The default hybrid pipeline through the store's public calls, with optional feedback."""

    def __init__(self, store: Store, embedder: MiniLMEmbedder) -> None:
        self.store, self.embedder = store, embedder

    def fused(self, query: str, vector: Any) -> list[tuple[str, float]]:
        """Documents (keyed by their best dense chunk), z-score fused, best first."""
        keys = [key for key, _ in self.store.rank_text(COLLECTION, query, 100)]
        keys += [key for key, _ in self.store.rank_vector(COLLECTION, vector, 100)]
        text = self.store.best_chunks(COLLECTION, keys, query=query)
        dense = self.store.best_chunks(COLLECTION, keys, vector=vector)
        chosen = {document: best[0] for document, best in {**text, **dense}.items()}
        runs = [sorted(((chosen[d], s) for d, (_, s) in part.items()), key=lambda p: -p[1]) for part in (text, dense)]
        return convex(runs, [0.5, 0.5], method="zscore")

    def documents(self, fused: list[tuple[str, float]]) -> list[str]:
        found = self.store.hits(COLLECTION, fused[:100], "hybrid")
        return hits_to_doc_ids([found[key] for key, _ in fused[:100] if key in found], doc_id)

    def plain(self, query: str) -> list[str]:
        return self.documents(self.fused(query, self.embedder.embed_query(query)))

    def rocchio(self, query: str, docs: int, keep: float) -> list[str]:
        vector = self.embedder.embed_query(query)
        top = [key for key, _ in self.fused(query, vector)[:docs]]
        moved = keep * vector + (1 - keep) * self.store.vectors(COLLECTION, top).mean(axis=0)
        return self.documents(self.fused(query, (moved / np.linalg.norm(moved)).astype(np.float32)))

    def rm3(self, query: str, docs: int, terms: int, keep: float) -> list[str]:
        """RM3: the query's words at weight ``keep``, the top documents' likeliest words at the rest,
        weights as word repetitions (BM25 sums a repeated query word's score)."""
        vector = self.embedder.embed_query(query)
        fused = self.fused(query, vector)[:docs]
        found = self.store.hits(COLLECTION, fused, "hybrid")
        scores = np.array([s for key, s in fused if key in found])
        weights = scores / scores.sum() if len(scores) and scores.sum() > 0 else scores
        model: Counter[str] = Counter()
        for weight, key in zip(weights, [key for key, _ in fused if key in found], strict=True):
            document = self.store.document(COLLECTION, found[key].document_uri)
            words = _words(document.text if document else found[key].chunk.text)
            for word, count in Counter(words).items():
                model[word] += weight * count / max(len(words), 1)
        original = _words(query)
        if not original:
            return self.documents(fused)
        expansion = dict(model.most_common(terms))
        total = sum(expansion.values()) or 1.0
        unit = keep / len(original) / 2  # each original word twice
        repeats = Counter({word: 2 for word in original})
        for word, p in expansion.items():
            repeats[word] += max(1, round((1 - keep) * p / total / unit))
        expanded = " ".join(word for word, n in repeats.items() for _ in range(n))
        return self.documents(self.fused(expanded, vector))


def _words(text: str) -> list[str]:
    return list(bm25s.tokenize([fold(text)], stopwords="en", show_progress=False, return_ids=False)[0])


def run(data: Any, retrieve: Retrieve, name: str) -> EvalReport:
    return evaluate(data, retrieve, name=name)


def searcher_run(store: Store, embedder: MiniLMEmbedder, data: Any, name: str, **settings: Any) -> EvalReport:
    searcher = Searcher(store, embedder, Tracer(), RetrievalSettings.model_validate(settings))
    return run(data, lambda q: hits_to_doc_ids(searcher.search(q, COLLECTION, k=100).hits, doc_id), name)


def row(name: str, report: EvalReport, base: EvalReport) -> str:
    if report is base:
        return f"| {name} | {report.mean('ndcg@10'):.4f} | – | – |"
    test = compare(base, report).test
    return f"| {name} | {report.mean('ndcg@10'):.4f} | {test.difference.mean:+.4f} | {test.p_value:.3f} |"


def bm25_grid(folder: Path, embedder: MiniLMEmbedder, data: Any, base: EvalReport) -> list[str]:
    lines = ["| k1 | b | BM25 alone | hybrid (default fusion) | Δ hybrid vs default | p |", "|---|---|---|---|---|---|"]
    for k1, b in BM25_GRID:
        quarry = build(Settings(store=StoreSettings(path=folder / "quarry.db", bm25_k1=k1, bm25_b=b)))
        alone = searcher_run(quarry.store, embedder, data, "bm25", mode="bm25")
        hybrid = searcher_run(quarry.store, embedder, data, f"k1 {k1} b {b}")
        quarry.close()
        test = compare(base, hybrid).test
        lines.append(
            f"| {k1} | {b} | {alone.mean('ndcg@10'):.4f} | {hybrid.mean('ndcg@10'):.4f} "
            f"| {test.difference.mean:+.4f} | {test.p_value:.3f} |"
        )
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    args = scifact_parser(__doc__, "train").parse_args()
    data = load_beir(DATA, args.split)
    embedder = MiniLMEmbedder()
    quarry = build(Settings(store=StoreSettings(path=args.store / "quarry.db")))
    base = searcher_run(quarry.store, embedder, data, "default")
    header = ["| configuration | nDCG@10 | Δ vs default | p |", "|---|---|---|---|"]
    fusion = [*header, row("default (document fusion, z-score, BM25 weight 0.5, depth 100)", base, base)]
    for name, settings in FUSION_ROWS.items():
        fusion.append(row(name, searcher_run(quarry.store, embedder, data, name, **settings), base))
        print(fusion[-1], flush=True)
    pipeline = Pipeline(quarry.store, embedder)
    again = run(data, pipeline.plain, "feedback baseline")
    if abs(again.mean("ndcg@10") - base.mean("ndcg@10")) > 0.002:
        raise SystemExit(f"the feedback pipeline ({again.mean('ndcg@10'):.4f}) does not reproduce the default")
    feedback = [*header, row("no feedback (the default, re-implemented)", again, again)]
    for name, kind, params in FEEDBACK_ROWS:
        method = pipeline.rm3 if kind == "rm3" else pipeline.rocchio
        report = run(data, lambda q, m=method, p=params: m(q, **p), name)  # type: ignore[misc]
        feedback.append(row(name, report, again))
        print(feedback[-1], flush=True)
    quarry.close()
    grid = bm25_grid(args.store, embedder, data, base)
    body = f"""Command: `python bench/levers.py --split {args.split}` on BEIR SciFact {args.split} ({len(data.queries)}
queries). Machine: {machine()}. nDCG@10 of the top 100 documents; Δ and p from a paired
randomization test against the default (p not corrected for the number of rows).

Fusion (BM25 k1 0.9, b 0.4):

{chr(10).join(fusion)}

Pseudo-relevance feedback, on top of the default; feedback documents are the default's top fused
documents (RM3 re-runs BM25 with the expanded query, Rocchio re-runs the dense path with the moved
vector; both then fuse as the default does):

{chr(10).join(feedback)}

BM25 parameters (the default fusion on top):

{chr(10).join(grid)}"""
    print(body)
    if not args.no_write:
        write_section(f"Retrieval levers: SciFact {args.split}", body)


if __name__ == "__main__":
    main()
