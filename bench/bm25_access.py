"""What BM25 statistics over only the visible documents cost (the access side channel closed).

    python bench/bm25_access.py [--no-write]

SciFact's 5,183 abstracts, the first 300 queries' terms. *collection statistics*: bm25s's precomputed score
matrix (what an unrestricted search, or a caller who sees every document, uses). *visible statistics*: the
term-count columns scored with document frequency, count and average length over a visible set that hides
every 7th document (what a restricted search uses, `quarry.stores.sqlite.visible_bm25`). A search scores
two such indexes (documents and chunks).
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from pathlib import Path

import bm25s
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from quarry.stores.sqlite.sparse import _query_terms, _scores, tokenize  # noqa: E402
from quarry.stores.sqlite.visible_bm25 import TermCounts  # noqa: E402
from results import machine, write_section  # noqa: E402

SCIFACT = HERE.parent.parent / "shared" / "datasets" / "scifact"


def _per_query_ms(score: object, queries: list[list[str]]) -> list[float]:
    times = []
    for terms in queries:
        began = time.perf_counter()
        score(terms)  # type: ignore[operator]
        times.append((time.perf_counter() - began) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with gzip.open(SCIFACT / "corpus.jsonl.gz", "rt", encoding="utf-8") as lines:
        texts = [f"{d['title']}\n{d['text']}" for d in map(json.loads, lines)]
    with gzip.open(SCIFACT / "queries.jsonl.gz", "rt", encoding="utf-8") as lines:
        queries = [_query_terms(json.loads(line)["text"]) for line in list(lines)[:300]]
    tokens = tokenize(texts)
    began = time.perf_counter()
    index = bm25s.BM25(k1=0.9, b=0.4)
    index.index(tokens, show_progress=False)
    bm25s_s = time.perf_counter() - began
    began = time.perf_counter()
    counts = TermCounts.of(tokens)
    counts_s = time.perf_counter() - began
    visible = np.ones(len(texts), dtype=bool)
    visible[::7] = False
    whole = _per_query_ms(lambda t: _scores(index, t, len(texts)), queries)
    subset = _per_query_ms(lambda t: counts.scores(t, visible, 0.9, 0.4), queries)
    mb = (counts.rows.nbytes + counts.counts.nbytes + counts.indptr.nbytes) / 2**20
    body = (
        "Command: `python bench/bm25_access.py`. " + machine() + "\n\n"
        f"SciFact, {len(texts)} documents, {len(queries)} queries; one index (a search scores two).\n\n"
        "| statistics | build | per query p50 | p95 | memory |\n|---|---|---|---|---|\n"
        f"| collection (bm25s matrix) | {bm25s_s:.2f} s | {statistics.median(whole):.3f} ms | "
        f"{np.percentile(whole, 95):.3f} ms | — |\n"
        f"| visible only (term counts) | +{counts_s:.2f} s | {statistics.median(subset):.3f} ms | "
        f"{np.percentile(subset, 95):.3f} ms | +{mb:.1f} MB |\n\n"
        "Restricted searches whose filter hides at least one document pay the second row twice (documents, "
        "chunks); a caller who sees every document keeps the first. Scores over a visible subset equal those "
        "of an index built on that subset alone (tests/stores/test_visible_bm25.py), so a hidden document "
        "never moves a caller's scores (tests/api/test_security.py)."
    )
    print(body)
    if not args.no_write:
        write_section("BM25 statistics over visible documents only", body)


if __name__ == "__main__":
    main()
