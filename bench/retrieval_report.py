"""The Markdown that bench/retrieval.py writes to bench/RESULTS.md, from one ``SystemRun`` per system."""

from __future__ import annotations

from measure import TIMED_K, Scored, SystemRun
from quarry.evaluation import RetrievalDataset, compare, comparison_table, markdown_table
from results import machine

QUARRY_DEFAULT = "hybrid z-score 0.5 (default)"
QUARRY_RRF = "hybrid RRF k=60, chunk fusion"
METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10", "map@100")
SYSTEM_LABELS = {
    "quarry": "Quarry",
    "quarry-doclevel": "Quarry doc-level",
    "bm25s": "bm25s",
    "llamaindex": "LlamaIndex",
}
# the figures (SciFact test, 300 queries) and the configuration that reproduces each
BASELINES = (
    ("bm25s, English stopwords + stemming, doc-level", 0.687, "bm25s", "bm25s (doc-level, stopwords + stemming)"),
    ("… through Quarry's bm25 path, one chunk per document", 0.687, "quarry-doclevel", "doc-level bm25"),
    (
        "… through Quarry's bm25 path, default chunks (parent-document), bm25s's k1/b",
        0.687,
        "quarry",
        "bm25 (parent-document, bm25s's k1 1.5 b 0.75)",
    ),
    ("dense all-MiniLM-L6-v2, doc-level, through Quarry", 0.645, "quarry-doclevel", "doc-level dense"),
    ("RRF(k=60) of doc-level BM25 + dense, through Quarry", 0.717, "quarry-doclevel", "doc-level RRF k=60"),
)


def _ci(scored: Scored, metric: str = "ndcg@10") -> str:
    ci = scored.quality.summary[metric]
    return f"{ci.mean:.3f} [{ci.low:.3f}, {ci.high:.3f}]"


def _index_time(run: SystemRun) -> str:
    return "reused (not measured)" if run.reused else f"{run.index_seconds:.1f} s"


def _row(run: SystemRun, name: str) -> str:
    scored = run.scored[name]
    timed = scored.timed
    return (
        f"| {SYSTEM_LABELS[run.system]} | {name} | {_ci(scored)} | {scored.quality.mean('recall@100'):.3f} "
        f"| {timed.mean(f'ndcg@{TIMED_K}'):.3f} | {_index_time(run)} | {timed.latency.p50:.1f} "
        f"| {timed.latency.p99:.1f} | {run.peak_rss_mb:.0f} MB |"
    )


def comparison(runs: dict[str, SystemRun]) -> str:
    header = (
        "| system | configuration | nDCG@10 [95% CI] | Recall@100 | nDCG@10 of the timed k=10 run | index time "
        "| p50 ms | p99 ms | peak RSS |\n|---|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    order = [system for system in ("quarry", "llamaindex", "bm25s") if system in runs]
    rows = [_row(runs[system], name) for system in order for name in runs[system].scored]
    return header + "\n" + "\n".join(rows)


def baselines(runs: dict[str, SystemRun]) -> str:
    rows = []
    for label, figure, system, name in BASELINES:
        if system in runs:
            mean = runs[system].scored[name].quality.mean("ndcg@10")
            verdict = "yes" if abs(mean - figure) <= 0.01 else "**no**"
            rows.append(
                f"| {label} | {figure:.3f} | {_ci(runs[system].scored[name])} | {mean - figure:+.3f} | {verdict} |"
            )
    header = "| baseline | issue | reproduced nDCG@10 [95% CI] | Δ | within ±0.01 |\n|---|---:|---:|---:|---|"
    return header + "\n" + "\n".join(rows)


def shortfalls(runs: dict[str, SystemRun]) -> str:
    """Every measure on which Quarry's default is not ahead of a competitor configuration."""
    quarry = runs["quarry"]
    ours = quarry.scored[QUARRY_DEFAULT]
    lines = []
    for system in ("llamaindex", "bm25s"):
        if system not in runs:
            continue
        run = runs[system]
        for name, theirs in run.scored.items():
            checks = {
                "nDCG@10": ours.quality.mean("ndcg@10") > theirs.quality.mean("ndcg@10"),
                "Recall@100": ours.quality.mean("recall@100") > theirs.quality.mean("recall@100"),
                "p50": ours.timed.latency.p50 < theirs.timed.latency.p50,
                "p99": ours.timed.latency.p99 < theirs.timed.latency.p99,
                "peak RSS": quarry.peak_rss_mb < run.peak_rss_mb,
            }
            if not (quarry.reused or run.reused):
                checks["index time"] = quarry.index_seconds < run.index_seconds
            behind = [measure for measure, ahead in checks.items() if not ahead]
            lines.append(
                f"- {name}: Quarry {'not ahead on ' + ', '.join(behind) if behind else 'ahead on every measure'}"
            )
    return "\n".join(lines)


def quarry_table(run: SystemRun) -> str:
    reports = [s.quality for s in run.scored.values()]
    latency = "\n".join(
        f"| {n} | {s.timed.latency.p50:.1f} | {s.timed.latency.p99:.1f} |" for n, s in run.scored.items()
    )
    rrf = run.scored[QUARRY_RRF].quality
    paired = comparison_table(
        [
            compare(rrf, r)
            for name, r in zip(run.scored, reports, strict=True)
            if "hybrid" in name and name != QUARRY_RRF
        ]
    )
    return f"""{markdown_table(reports, METRICS)}

The p50/p95 columns above time the k=100 quality pass (not under the lock).

Latency of `Searcher.search(k={TIMED_K})` (query embedding included, warm indexes, under the latency lock, ms):

| configuration | p50 | p99 |
|---|---|---|
{latency}

Paired comparison against plain RRF (randomization test, 10,000 sign flips):

{paired}"""


def paired_against_competitors(runs: dict[str, SystemRun], *, timed: bool = False) -> str:
    """Quarry's default against every competitor configuration: on the k=100 quality runs, or
    (``timed``) on the k=10 lists of the timing pass."""
    ours = runs["quarry"].scored[QUARRY_DEFAULT]
    theirs = [s for system in ("llamaindex", "bm25s") if system in runs for s in runs[system].scored.values()]
    if timed:
        return comparison_table([compare(other.timed, ours.timed) for other in theirs])
    return comparison_table([compare(other.quality, ours.quality) for other in theirs])


def conditions(runs: dict[str, SystemRun]) -> str:
    lines = [
        f"- {SYSTEM_LABELS[r.system]}: index {_index_time(r)}, peak RSS {r.peak_rss_mb:.0f} MB, load average "
        f"during its timing pass {r.load_during_timing[0]:.2f} (1 min); {'; '.join(r.notes)}"
        for r in runs.values()
    ]
    return "\n".join(lines)


def render(
    runs: dict[str, SystemRun], command: str, data: RetrievalDataset, *, missing: list[str], note: str = ""
) -> str:
    reused = [SYSTEM_LABELS[r.system] for r in runs.values() if r.reused]
    warnings = [f"**Reused from bench/_work (index time not measured): {', '.join(reused)}.**"] if reused else []
    warnings += [f"**Not in this report: {', '.join(SYSTEM_LABELS[s] for s in missing)}.**"] if missing else []
    parts = [
        f"Command: `{command}` on BEIR SciFact ({len(data.queries)} queries, {len(data.corpus)} documents). "
        f"Machine: {machine()}. " + " ".join([*warnings, note]).strip(),
        "Every system uses the same model: Quarry's all-MiniLM-L6-v2 int8 ONNX embedder (LlamaIndex through a "
        "`BaseEmbedding` wrapper). Quality: each system asked for 100 documents; chunks/nodes are mapped to their "
        "SciFact document, each kept once at its best rank. Latency: a second pass asking for k=10, one query at a "
        "time, warm, query embedding included, under `/tmp/quarry-latency.lock`. Index time: from corpus.jsonl.gz "
        "to a searchable index, embedding included (Quarry: ingest with the embedding cache off + first query). "
        "Peak RSS: each system in its own process, whole run. LlamaIndex fusion: `num_queries=1` (no LLM), "
        "sub-retrievers asked for the same k as the fusion.",
        "### Quarry against LlamaIndex and bm25s",
        comparison(runs),
    ]
    if "quarry" in runs:
        parts += ["Where Quarry's default (hybrid z-score) is not ahead:", shortfalls(runs)]
        parts += [
            "Paired comparison, Quarry's default (B) against each competitor (A), nDCG@10:",
            paired_against_competitors(runs),
            f"The same on the k={TIMED_K} lists of the timing pass (nDCG@10 of what a user asking for 10 gets):",
            paired_against_competitors(runs, timed=True),
        ]
    parts += ["### The issue's baselines, reproduced", baselines(runs)]
    if "quarry" in runs:
        parts += [
            "### Quarry's retrieval configurations (settings chosen on the train split)",
            quarry_table(runs["quarry"]),
        ]
    parts += ["### Run conditions", conditions(runs)]
    return "\n\n".join(parts)
