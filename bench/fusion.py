"""Is hybrid search ever worse than its own parts? Every path and fusion on every retrieval set buildable offline.

    python bench/fusion.py            # needs bench/_work/scifact/quarry.db (bench/ingest_peers.py --keep
                                      # bench/_work/scifact) and builds the dev collection (bench/qa_corpus.py)

Sets: SciFact train (809 judged claims) and test (300), both over the 5,183-abstract corpus; the dev QA set's
134 questions with gold documents over its own corpus (an essay, office documents, 1,030 SciFact abstracts).
Per query nDCG@10 of documents for BM25 alone, dense alone and the fusions Quarry ships (RRF k=60, min-max and
z-score convex at BM25 weights 0.3/0.5/0.7), each candidate document scored exactly on both paths (the default
``fusion_unit = "document"``). The default is z-score 0.5. Paired sign-flip tests: the default against the better
single path of each set and against the best fixed fusion of each set (the best picked on that same set, so it
flatters the alternative). Results go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from quarry.assembly import Quarry, build
from quarry.evaluation.datasets import load_beir
from quarry.evaluation.metrics import ndcg
from quarry.evaluation.qa import load_qa_set
from quarry.evaluation.stats import bootstrap_ci, paired_test
from quarry.retrieval.search import Mode
from quarry.settings import Settings, StoreSettings
from quarry.tuning.pairs import EvalQueries
from quarry.tuning.sources import doc_key, qa_eval_queries
from results import machine, write_section

BENCH = Path(__file__).resolve().parent
SCIFACT = BENCH.parents[1] / "shared/datasets/scifact"
DEFAULT = "z-score 0.5 (default)"
CONFIGS: dict[str, tuple[Mode, dict[str, object]]] = {
    "BM25": ("bm25", {}),
    "dense": ("dense", {}),
    "RRF k=60": ("hybrid", {"fusion": "rrf"}),
    "min-max 0.5": ("hybrid", {"fusion": "minmax", "bm25_weight": 0.5}),
    "z-score 0.3": ("hybrid", {"fusion": "zscore", "bm25_weight": 0.3}),
    DEFAULT: ("hybrid", {"fusion": "zscore", "bm25_weight": 0.5}),
    "z-score 0.7": ("hybrid", {"fusion": "zscore", "bm25_weight": 0.7}),
}


def per_query(store: Path, collection: str, evaluation: EvalQueries) -> dict[str, np.ndarray]:
    """Per-query nDCG@10 of every configuration; one system per set, its searcher's settings swapped per config."""
    quarry = build(Settings(store=StoreSettings(path=store)))
    scores = {}
    for name, (mode, fusion) in CONFIGS.items():
        quarry.searcher.settings = quarry.settings.retrieval.model_copy(update=fusion)
        scores[name] = np.array([_ndcg(quarry, collection, evaluation, qid, query, mode)
                                 for qid, query in evaluation.queries.items()])  # fmt: skip
        print(f"{evaluation.name} {name}: {scores[name].mean():.4f}", flush=True)
    quarry.close()
    return scores


def _ndcg(quarry: Quarry, collection: str, evaluation: EvalQueries, qid: str, query: str, mode: Mode) -> float:
    hits = quarry.searcher.search(query, collection, k=10, mode=mode).hits
    ranking = list(dict.fromkeys(doc_key(hit.document_uri) for hit in hits))
    return ndcg(ranking, dict(evaluation.qrels.get(qid, {})), 10)


def sets() -> dict[str, tuple[Path, str, EvalQueries]]:
    from qa_corpus import COLLECTION, DEV_SET, ensure_corpus

    scifact_store = BENCH / "_work/scifact/quarry.db"
    found = {}
    for split in ("train", "test"):
        beir = load_beir(SCIFACT, split, name="scifact")
        found[f"SciFact {split}"] = (
            scifact_store,
            "scifact",
            EvalQueries(f"scifact-{split}", dict(beir.queries), beir.qrels),
        )
    dev = ensure_corpus(Settings(store=StoreSettings(path=BENCH / "_work/qa/quarry.db")))
    items = [item for item in load_qa_set(DEV_SET).items if item.gold_docs]
    found["dev QA set"] = (
        BENCH / "_work/qa/quarry.db",
        COLLECTION,
        qa_eval_queries(items, dev.store, COLLECTION, "dev"),
    )
    dev.close()
    return found


def _cell(values: np.ndarray) -> str:
    ci = bootstrap_ci(values)
    return f"{ci.mean:.3f} [{ci.low:.3f}, {ci.high:.3f}]"


def _versus(default: np.ndarray, other: np.ndarray) -> str:
    test = paired_test(other, default)
    d = test.difference
    return f"{d.mean:+.3f} [{d.low:+.3f}, {d.high:+.3f}], p = {test.p_value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    results = {name: per_query(*spec) for name, spec in sets().items()}
    header = "| set | n | " + " | ".join(CONFIGS) + " |"
    lines = [header, "|---|---:|" + "---:|" * len(CONFIGS)]
    for name, scores in results.items():
        n = len(next(iter(scores.values())))
        lines.append(f"| {name} | {n} | " + " | ".join(_cell(scores[c]) for c in CONFIGS) + " |")
    lines += ["", "| set | better single path | default − it | best fixed fusion (on this set) | default − it |",
              "|---|---|---|---|---|"]  # fmt: skip
    for name, scores in results.items():
        single = max(("BM25", "dense"), key=lambda c: scores[c].mean())
        fused = max((c for c in CONFIGS if c not in ("BM25", "dense", DEFAULT)), key=lambda c: scores[c].mean())
        lines.append(
            f"| {name} | {single} | {_versus(scores[DEFAULT], scores[single])} | {fused} | "
            f"{_versus(scores[DEFAULT], scores[fused])} |"
        )
    body = (
        f"Command: `python bench/fusion.py`. Machine: {machine()}.\n\nnDCG@10 [95% bootstrap CI] per set and "
        "configuration (documents; each fusion scores every candidate document exactly on both paths); then the "
        "default against the better single path and against the best other fixed fusion of the same set "
        "(paired sign-flip test).\n\n" + "\n".join(lines) + "\n"
    )
    print(body)
    if not args.no_write:
        write_section("Fusion across sets: is hybrid ever worse than its parts?", body)


if __name__ == "__main__":
    main()
