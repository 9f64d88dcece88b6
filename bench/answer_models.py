"""Which packaged local model should answer by default? Quarry's default pipeline on the dev set (bench/qa/dev.jsonl)
with each candidate model and llama.cpp thread count, each in its own process so its peak memory is its own.

    python bench/answer_models.py [--split test] [--models smollm2,qwen2.5-0.5b,gemma3-270m] [--threads 2,1]
    python bench/answer_models.py --report   # the section again from the stored runs (no answering)

Per row: accuracy (reference contained or correct abstention) with a 95% bootstrap CI, abstention on unanswerable
and answerable questions, supported-flag agreement, truncated answers, how often the model's own answer was kept
(the rest are extractive fallbacks), answer latency p50/p95, time to first token, and the process's peak RSS; then
each row against the first (the default) with a paired test on the same questions. Run it on a quiet machine:
latency is part of the choice. Runs are stored in bench/_work/qa/model-runs (with each process's peak RSS).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from answers import quarry_run
from qa_corpus import DEV_SET
from quarry.evaluation.answer_runner import AnswerRun, compare_runs
from quarry.evaluation.qa import load_qa_set
from quarry.evaluation.runs import load_run
from quarry.evaluation.stats import PairedTest, paired_test
from results import machine, write_section

HERE = Path(__file__).resolve().parent
RUNS = HERE / "_work" / "qa" / "model-runs"
COLUMNS = ("correct", "abstained_unanswerable", "abstained_answerable", "supported_agreement", "truncated")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="test")
    parser.add_argument("--models", default="smollm2,qwen2.5-0.5b,gemma3-270m")
    parser.add_argument("--threads", default="2,1")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--report", action="store_true", help="no runs: the section from the stored runs")
    parser.add_argument("--one", nargs=2, metavar=("MODEL", "THREADS"), help=argparse.SUPPRESS)
    return parser.parse_args()


def run_one(split: str, model: str, threads: int) -> None:
    """Child process: one model at one thread count; the run is saved where the parent finds it."""
    qa = load_qa_set(DEV_SET, split=split)
    name = f"{threads} thread(s)"  # the run is named "<threads> thread(s) · <model>"
    quarry_run(qa, model, threads, name, RUNS / f"{model}-{threads}")


def measured(split: str, model: str, threads: int) -> None:
    """Run one configuration in a child process; its run and peak RSS are stored in its folder."""
    folder = RUNS / f"{model}-{threads}"
    for old in folder.glob("*.json"):
        old.unlink()
    command = [sys.executable, __file__, "--split", split, "--one", model, str(threads)]
    child = subprocess.Popen(command)
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{model} with {threads} thread(s) failed: {shlex.join(command)}")
    (folder / "rss.json").write_text(json.dumps({"peak_rss_mb": usage.ru_maxrss / 1024}))


def stored(model: str, threads: int) -> tuple[AnswerRun, float]:
    """The stored run of one configuration and its process's peak RSS in MB."""
    folder = RUNS / f"{model}-{threads}"
    (path,) = (p for p in folder.glob("*.json") if p.name != "rss.json")
    return load_run(path), float(json.loads((folder / "rss.json").read_text())["peak_rss_mb"])


def kept_model_answers(run: AnswerRun) -> float:
    answered = [r for r in run.results if not r.outcome.abstained]
    return sum(r.outcome.extra.get("method") == "generated" for r in answered) / max(len(answered), 1)


def label(run: AnswerRun) -> str:
    threads, model = run.name.split(" · ", 1)
    return f"{model} · {threads}"


def row(run: AnswerRun, rss: float) -> str:
    cells = [f"{run.summary[m].mean:.2f} [{run.summary[m].low:.2f}, {run.summary[m].high:.2f}]" for m in COLUMNS]
    ttft = f"{run.ttft.p50:.2f}" if run.ttft.p50 else "—"
    timing = [f"{kept_model_answers(run):.2f}", f"{run.latency.p50:.2f}", f"{run.latency.p95:.2f}", ttft]
    return "| " + " | ".join([label(run), *cells, *timing, f"{rss:.0f}"]) + " |"


def latency_test(baseline: AnswerRun, run: AnswerRun) -> PairedTest:
    """Seconds per answer of ``run`` against ``baseline`` on the same questions (paired)."""
    first = {r.item.id: r.outcome.seconds for r in baseline.results}
    pairs = [(first[r.item.id], r.outcome.seconds) for r in run.results if r.item.id in first]
    return paired_test([a for a, _ in pairs], [b for _, b in pairs])


def report(runs: list[tuple[AnswerRun, float]]) -> str:
    header = ["model · threads", *COLUMNS, "model's answer kept", "p50 s", "p95 s", "TTFT p50 s", "peak RSS MB"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [row(run, rss) for run, rss in runs]
    baseline = runs[0][0]
    faster: list[AnswerRun] = []
    for run, _ in runs[1:]:
        (c,) = compare_runs(baseline, run, ["correct"])
        seconds = latency_test(baseline, run)
        lines.append(
            f"\n{label(run)} − {label(baseline)}: correct {c.difference.mean:+.3f} "
            f"[{c.difference.low:+.3f}, {c.difference.high:+.3f}], paired p = {c.p_value:.4f}; seconds per answer "
            f"{seconds.difference.mean:+.2f} [{seconds.difference.low:+.2f}, {seconds.difference.high:+.2f}], "
            f"paired p = {seconds.p_value:.4f} (n = {c.test.n})"
        )
        if c.difference.mean >= 0 and seconds.difference.high < 0:
            faster.append(run)
    best = min(faster, key=lambda r: r.latency.p50) if faster else baseline
    lines.append(
        f"\nBest accuracy for its latency (the first row unless another is as accurate and significantly "
        f"faster): {label(best)}."
    )
    return "\n".join(lines)


def main() -> None:
    args = arguments()
    if args.one:
        run_one(args.split, args.one[0], int(args.one[1]))
        return
    configurations = [(m, int(t)) for m in args.models.split(",") for t in args.threads.split(",")]
    for model, threads in [] if args.report else configurations:
        measured(args.split, model, threads)
    runs = [stored(model, threads) for model, threads in configurations]
    qa = load_qa_set(DEV_SET, split=args.split)
    table = report(runs)
    print(table)
    command = " ".join(["python bench/answer_models.py", shlex.join(sys.argv[1:])]).strip()
    body = (
        f"Command: `{command}` — {machine()}. {qa.name}: {len(qa.items)} questions ({qa.answerable} answerable); "
        "each configuration in its own process (peak RSS is that process's: store, embedder and model).\n\n" + table
    )
    if not args.no_write:
        write_section("Answers: candidate local models on the dev set", body)


if __name__ == "__main__":
    main()
