"""Quarry's retrieval on BEIR SciFact against LlamaIndex and bm25s, in one run, with the same
embedding model: quality (nDCG@10 etc. with 95% CIs), index time, p50/p99 latency at k=10 and
peak RSS; the issue's baselines reproduced through Quarry's own code; and Quarry's own table of
each path and fusion method with paired tests against plain RRF.

    python bench/retrieval.py [--split test] [--reuse] [--systems quarry bm25s ...]

Each system runs in its own subprocess (``--child``), so peak RSS and imports do not mix.
A fresh run builds every index from corpus.jsonl.gz (Quarry with the embedding cache off), which
embeds SciFact three times: ~25 minutes on 2 cores. ``--reuse`` is for development: it opens the
stores and embeddings kept in bench/_work (building them there once if missing) and the results
say that index times were not measured. Timing passes hold /tmp/quarry-latency.lock.
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

from measure import Built, SystemRun, forbid_network, score
from quarry.evaluation import load_beir
from results import write_section
from retrieval_report import render

BENCH = Path(__file__).resolve().parent
DATA = BENCH.parents[1] / "shared/datasets/scifact"
WORK = BENCH / "_work"
# run order: the cheap and the most-compared first
SYSTEMS = ("bm25s", "llamaindex", "quarry", "quarry-doclevel")


def build_system(system: str, reuse: bool, stack: ExitStack) -> Built:
    corpus = DATA / "corpus.jsonl.gz"
    if system == "quarry":
        from quarry_system import build_quarry

        return build_quarry(corpus, WORK / "scifact/quarry.db", reuse, stack)
    if system == "quarry-doclevel":
        from quarry_system import build_quarry

        return build_quarry(corpus, WORK / "doclevel/quarry.db", reuse, stack, doclevel=True)
    if system == "bm25s":
        from bm25s_system import build_bm25s

        return build_bm25s(corpus)
    forbid_network()  # before llama_index is imported
    from llamaindex_system import build_llamaindex

    return build_llamaindex(corpus, WORK / "llamaindex/embeddings.pkl", reuse)


def run_child(system: str, args: argparse.Namespace, out: Path) -> None:
    split, reuse = args.split, args.reuse
    data = load_beir(DATA, split)
    if args.limit:  # smoke test: the first N queries
        data = replace(data, queries=dict(list(data.queries.items())[: args.limit]))
    with ExitStack() as stack:
        built = build_system(system, reuse, stack)
        print(f"[{system}] index built in {built.index_seconds:.1f} s{' (reused)' if built.reused else ''}", flush=True)
        run = score(data, built, system, lock=not args.no_lock)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pickle.dumps(run))


def run_system(system: str, args: argparse.Namespace, passed: list[str]) -> SystemRun:
    out = WORK / "retrieval" / f"{system}-{args.split}.pkl"
    command = [sys.executable, __file__, "--child", system, *passed]
    print(f"[{system}] running: {' '.join(command[1:])}", flush=True)
    subprocess.run(command, check=True)
    run: SystemRun = pickle.loads(out.read_bytes())
    return run


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="test")
    parser.add_argument("--reuse", action="store_true", help="reuse indexes/embeddings kept in bench/_work")
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    parser.add_argument("--no-write", action="store_true", help="print the results without updating RESULTS.md")
    parser.add_argument("--limit", type=int, default=0, help="smoke test: only the first N queries")
    parser.add_argument("--no-lock", action="store_true", help="smoke test: time without the latency lock")
    parser.add_argument(
        "--render-only", action="store_true", help="rewrite the report from each system's last results in bench/_work"
    )
    parser.add_argument("--note", default="", help="a sentence added to the report (e.g. how the runs were made)")
    parser.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    return parser.parse_args()


def collect(args: argparse.Namespace) -> dict[str, SystemRun]:
    if not args.render_only:
        passed = ["--split", args.split, *(["--reuse"] if args.reuse else []), *(["--no-lock"] if args.no_lock else [])]
        passed += ["--limit", str(args.limit)] if args.limit else []
        return {system: run_system(system, args, passed) for system in args.systems}
    runs = {}
    for system in args.systems:  # the results each system's last run left in bench/_work/retrieval
        path = WORK / "retrieval" / f"{system}-{args.split}.pkl"
        if path.exists():
            runs[system] = pickle.loads(path.read_bytes())
        else:
            print(f"[{system}] no results at {path}: left out", flush=True)
    return runs


def main() -> None:
    args = parse_args()
    if args.child:
        run_child(args.child, args, WORK / "retrieval" / f"{args.child}-{args.split}.pkl")
        return
    runs = collect(args)
    command = f"python bench/retrieval.py --split {args.split}" + (" --reuse" if args.reuse else "")
    command += " --render-only" if args.render_only else ""
    if set(args.systems) != set(SYSTEMS):
        command += " --systems " + " ".join(args.systems)
    missing = [system for system in SYSTEMS if system not in runs]
    body = render(runs, command, load_beir(DATA, args.split), missing=missing, note=args.note)
    print(body)
    if not (args.no_write or args.limit or args.no_lock):  # smoke tests never overwrite results
        write_section(f"Retrieval quality and latency: SciFact {args.split}", body)


if __name__ == "__main__":
    main()
