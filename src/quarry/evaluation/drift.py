"""Drift between a reference window and a current window of stored traces.

- **Query embedding drift**: the cosine distance between the windows' mean query embeddings, and a two-sample
  test: MMD² with an RBF kernel (median-distance bandwidth) and a permutation p-value.
- **PSI** (population stability index, reference deciles) of the best retrieval score, the best cosine and the
  answer length. Rule of thumb: < 0.1 stable, 0.1–0.25 moderate, > 0.25 shifted.
- **Rates**: abstention (answers), no result (searches that found nothing), and *out of domain*: the share of
  current queries whose best cosine falls below the reference window's 5th percentile.
- **New frequent terms**: words frequent now and rare before.

``drifted`` is true when the embedding test is significant (p < 0.01) with a non-trivial MMD², a PSI exceeds
0.25, or the out-of-domain share exceeds 3× its reference level (5%).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from quarry.stores.base import TraceRecord, TraceStore

__all__ = ["DriftReport", "drift_report", "mmd_test", "psi", "stored_drift"]

Embed = Callable[[list[str]], npt.NDArray[np.float32]]
_WORD = re.compile(r"[a-z][a-z'-]{2,}")
_STOP_WORDS = """the and for are was were with that this what which who whom how why when where does did has have had
from into about than then there their they them its not but can could would should will shall may might our your you
his her him she he it is be been being an of to in on at by or as if any all some more most such"""
_STOP = frozenset(_STOP_WORDS.split())
MAX_QUERIES = 400  # per window, for the embedding test
CURRENT, REFERENCE = 500, 2000  # default windows: the newest traces, and the ones before them


@dataclass(frozen=True)
class DriftReport:
    reference: int
    current: int
    embedding_distance: float
    mmd2: float
    mmd_p: float
    psi: dict[str, float]
    rates: dict[str, tuple[float, float]]  # name -> (reference, current)
    out_of_domain: tuple[float, float]
    new_terms: list[tuple[str, int]]
    series: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict, repr=False)

    @property
    def drifted(self) -> bool:
        return (
            (self.mmd_p < 0.01 and self.mmd2 > 0.002)
            or any(v > 0.25 for v in self.psi.values())
            or self.out_of_domain[1] > 3 * max(self.out_of_domain[0], 0.05)
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "drifted": self.drifted, "reference_traces": self.reference, "current_traces": self.current,
            "embedding_distance": round(self.embedding_distance, 5), "mmd2": round(self.mmd2, 6),
            "mmd_p": round(self.mmd_p, 4), "psi": {k: round(v, 4) for k, v in self.psi.items()},
            "rates": {k: {"reference": round(a, 4), "current": round(b, 4)} for k, (a, b) in self.rates.items()},
            "out_of_domain": {"reference": round(self.out_of_domain[0], 4), "current": round(self.out_of_domain[1], 4)},
            "new_terms": [{"term": t, "count": n} for t, n in self.new_terms],
        }  # fmt: skip


def drift_report(
    reference: Sequence[TraceRecord], current: Sequence[TraceRecord], embed: Embed, *, seed: int = 0
) -> DriftReport:
    """Compare two windows of search and answer traces (the trace name is the query or question)."""
    ref_q, cur_q = _queries(reference), _queries(current)
    rng = np.random.default_rng(seed)
    a = _embed_sample(embed, ref_q, rng)
    b = _embed_sample(embed, cur_q, rng)
    distance = _mean_distance(a, b)
    mmd2, p = mmd_test(a, b, rng=rng) if len(a) >= 5 and len(b) >= 5 else (0.0, 1.0)
    series = {name: (_values(reference, name), _values(current, name)) for name in ("top_score", "top_cosine")}
    series["answer_chars"] = (_answer_lengths(reference), _answer_lengths(current))
    scores = {name: psi(ref, cur) for name, (ref, cur) in series.items() if len(ref) >= 10 and len(cur) >= 10}
    rates = {"abstention": (_rate(reference, "abstained"), _rate(current, "abstained")),
             "no_result": (_no_result(reference), _no_result(current))}  # fmt: skip
    cosines = series["top_cosine"]
    floor = float(np.percentile(cosines[0], 5)) if len(cosines[0]) >= 20 else -math.inf
    ood = (_share_below(cosines[0], floor), _share_below(cosines[1], floor))
    return DriftReport(
        len(reference), len(current), distance, mmd2, p, scores, rates, ood, new_terms(ref_q, cur_q), series
    )


def stored_drift(traces: TraceStore, embed: Embed, *, current: int, reference: int) -> DriftReport | None:
    """The newest ``current`` search and answer traces against the ``reference`` before them (None: under 20 stored;
    with fewer than ``current + reference`` the newer half is the current window)."""
    found = traces.traces(limit=current + reference, kind=("search", "answer"))
    if len(found) < 20:
        return None
    split = min(current, len(found) // 2)
    return drift_report(found[split:], found[:split], embed)


def _queries(traces: Sequence[TraceRecord]) -> list[str]:
    return [t.name for t in traces if t.kind in ("search", "answer") and t.name.strip()]


def _embed_sample(embed: Embed, queries: list[str], rng: np.random.Generator) -> npt.NDArray[np.float32]:
    if not queries:
        return np.zeros((0, 1), dtype=np.float32)
    chosen = (
        queries
        if len(queries) <= MAX_QUERIES
        else [queries[i] for i in rng.choice(len(queries), MAX_QUERIES, replace=False)]
    )
    vectors = np.asarray(embed(chosen), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.where(norms > 0, norms, 1.0), dtype=np.float32)


def _mean_distance(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    if len(a) == 0 or len(b) == 0:
        return 0.0
    ma, mb = a.mean(axis=0), b.mean(axis=0)
    return float(1.0 - ma @ mb / (np.linalg.norm(ma) * np.linalg.norm(mb) or 1.0))


def mmd_test(
    a: npt.NDArray[np.float32], b: npt.NDArray[np.float32], *, permutations: int = 200, rng: np.random.Generator
) -> tuple[float, float]:
    """(MMD² with an RBF kernel, permutation p-value): how unlikely the two samples share one distribution."""
    pooled = np.concatenate([a, b]).astype(np.float64)
    squared = np.maximum(np.sum(pooled**2, 1)[:, None] + np.sum(pooled**2, 1)[None, :] - 2 * pooled @ pooled.T, 0)
    bandwidth = float(np.median(squared[np.triu_indices(len(pooled), 1)])) or 1.0
    kernel = np.exp(-squared / bandwidth)
    n, m = len(a), len(b)
    total, row_sums = float(kernel.sum()), kernel.sum(axis=1)

    def statistic(in_a: npt.NDArray[np.float64]) -> float:
        """MMD² for the split marked by the 0/1 vector ``in_a``, from two products (the kernel's diagonal is 1)."""
        aa = float(in_a @ kernel @ in_a)
        ab = float(in_a @ row_sums) - aa
        bb = total - aa - 2 * ab
        return (aa - n) / (n * (n - 1)) + (bb - m) / (m * (m - 1)) - 2 * ab / (n * m)

    marks = np.concatenate([np.ones(n), np.zeros(m)])
    observed = statistic(marks)
    exceed = sum(statistic(rng.permutation(marks)) >= observed for _ in range(permutations))
    return observed, (exceed + 1) / (permutations + 1)


def psi(reference: Sequence[float], current: Sequence[float], bins: int = 10) -> float:
    """Population stability index of ``current`` against ``reference``, on reference quantile bins."""
    ref, cur = np.asarray(reference, dtype=np.float64), np.asarray(current, dtype=np.float64)
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        return 0.0
    edges[0], edges[-1] = -np.inf, np.inf
    expected = np.histogram(ref, edges)[0] / len(ref)
    actual = np.histogram(cur, edges)[0] / len(cur)
    expected, actual = np.clip(expected, 1e-4, None), np.clip(actual, 1e-4, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def new_terms(reference: Sequence[str], current: Sequence[str], top: int = 10) -> list[tuple[str, int]]:
    """Words used at least 3 times now whose share of words grew 5× or more over the reference (smoothed)."""
    ref, cur = _words(reference), _words(current)
    ref_total, cur_total = max(sum(ref.values()), 1), max(sum(cur.values()), 1)
    grown = [(w, n) for w, n in cur.items() if n >= 3 and (n / cur_total) >= 5 * ((ref[w] + 1) / ref_total)]
    return sorted(grown, key=lambda item: (-item[1], item[0]))[:top]


def _words(texts: Sequence[str]) -> Counter[str]:
    return Counter(w for t in texts for w in _WORD.findall(t.lower()) if w not in _STOP)


def _values(traces: Sequence[TraceRecord], name: str) -> list[float]:
    return [
        float(v) for t in traces if isinstance(v := t.attributes.get(name), int | float) and not isinstance(v, bool)
    ]


def _answer_lengths(traces: Sequence[TraceRecord]) -> list[float]:
    return [float(len(t.attributes["answer"])) for t in traces if isinstance(t.attributes.get("answer"), str)]


def _rate(traces: Sequence[TraceRecord], name: str) -> float:
    answers = [t for t in traces if t.kind == "answer"]
    return sum(bool(t.attributes.get(name)) for t in answers) / len(answers) if answers else 0.0


def _no_result(traces: Sequence[TraceRecord]) -> float:
    counted = [t for t in traces if "hits" in t.attributes]
    return sum(t.attributes.get("hits") == 0 for t in counted) / len(counted) if counted else 0.0


def _share_below(values: Sequence[float], floor: float) -> float:
    return sum(v < floor for v in values) / len(values) if values else 0.0
