"""Cited answers over SciFact with the local model: latency (time to first token, total) and how often the
citations point to a gold-relevant document.

    python bench/answer.py [--store bench/_work/scifact/quarry.db] [--n 30] [--k K] [--max-tokens N]
                           [--context-tokens N] [--prompt answer@3] [--mode dense] [--model smollm2]
                           [--threads 1] [--baseline] [--no-write] [--title "..."]

Unset options take the ``GenerationSettings`` / ``LocalModelSettings`` defaults. Needs a SciFact collection
"scifact" (``python bench/ingest.py --keep bench/_work/scifact``). Claims are the first ``n`` query ids of
``qrels/test.tsv``; a document's uri is ``<corpus path>#<doc id>``.

``--baseline`` also runs the previous defaults (answer@2, k 2, 300 context tokens, 64 answer tokens) on a
second llama.cpp server, alternating claim by claim, so load from other work on the machine hits both alike.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import shlex
import statistics
import sys
from pathlib import Path

from quarry.assembly import Quarry, build
from quarry.generation import Answer, DoneEvent
from quarry.settings import GenerationSettings, LLMSettings, LocalModelSettings, Settings, StoreSettings
from results import machine, write_section

HERE = Path(__file__).resolve().parent
SCIFACT = HERE.parents[1] / "shared/datasets/scifact"
BASELINE = {"prompt": "answer@2", "k": 2, "max_context_tokens": 300, "max_tokens": 64}


def claims(n: int) -> tuple[list[tuple[str, str]], dict[str, set[str]]]:
    qrels: dict[str, set[str]] = {}
    with (SCIFACT / "qrels/test.tsv").open() as f:
        for row in csv.DictReader(f, delimiter="\t"):
            qrels.setdefault(row["query-id"], set()).add(row["corpus-id"])
    with gzip.open(SCIFACT / "queries.jsonl.gz", "rt") as f:
        texts = {q["_id"]: q["text"] for q in map(json.loads, f)}
    ids = list(qrels)[:n]
    return [(i, texts[i]) for i in ids], qrels


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def gold(answer: Answer, relevant: set[str], *, with_fallback: bool) -> bool:
    cited = {c.document_uri.rsplit("#", 1)[-1] for c in answer.citations if with_fallback or not c.fallback}
    return bool(cited & relevant)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=HERE / "_work/scifact/quarry.db")
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--k", type=int)
    parser.add_argument("--max-tokens", type=int)
    parser.add_argument("--context-tokens", type=int)
    parser.add_argument("--prompt")
    parser.add_argument("--mode", choices=["dense", "bm25"])
    parser.add_argument("--model", help='"smollm2" or "gemma3-270m" (default: LocalModelSettings.model)')
    parser.add_argument("--threads", type=int)
    parser.add_argument("--baseline", action="store_true", help="also run the previous defaults, interleaved")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    parser.add_argument("--title", default="Answers: SciFact claims with the local model")
    return parser.parse_args()


def generation(args: argparse.Namespace) -> GenerationSettings:
    chosen = {
        "prompt": args.prompt,
        "k": args.k,
        "max_tokens": args.max_tokens,
        "max_context_tokens": args.context_tokens,
        "mode": args.mode,
    }
    return GenerationSettings(**{key: value for key, value in chosen.items() if value is not None})


def system(args: argparse.Namespace, settings: GenerationSettings, n_ctx: int = 2048) -> Quarry:
    local = LocalModelSettings(n_ctx=n_ctx)
    local = local.model_copy(update={"model": args.model or local.model, "n_threads": args.threads or local.n_threads})
    return build(Settings(store=StoreSettings(path=args.store), llm=LLMSettings(local=local), generation=settings))


def ask(quarry: Quarry, text: str) -> Answer:
    done = [e for e in quarry.answerer.stream(text, "scifact") if isinstance(e, DoneEvent)]
    return done[0].answer


def main() -> None:
    args = arguments()
    runs = {"chosen": system(args, generation(args))}
    if args.baseline:
        # its own llama.cpp server (a different n_ctx, which does not change speed at these lengths), so
        # the two prompt caches never share a prefix and neither run reads the other's cached tokens
        runs["baseline"] = system(args, GenerationSettings(**BASELINE), n_ctx=2304)
    questions, qrels = claims(args.n)
    for quarry in runs.values():  # warm-up: starts the server, loads the embedder
        quarry.answerer.answer(questions[0][1], "scifact")
    loads = [os.getloadavg()[0]]
    answers: dict[str, list[tuple[str, Answer]]] = {name: [] for name in runs}
    for i, (qid, text) in enumerate(questions):
        for name in list(runs) if i % 2 == 0 else list(reversed(runs)):
            answer = ask(runs[name], text)
            answers[name].append((qid, answer))
            print(f"{name:8s} {answer.seconds:5.2f}s {answer.text[:100]!r}", file=sys.stderr)
    loads.append(os.getloadavg()[0])
    for quarry in runs.values():
        quarry.close()
    report(args, runs, answers, qrels, loads)


def rows(answers: list[tuple[str, Answer]], qrels: dict[str, set[str]]) -> dict[str, str]:
    total = [a.seconds for _, a in answers]
    ttft = [a.ttft_s for _, a in answers if a.ttft_s is not None] or [0.0]
    n = len(answers)
    with_fb = sum(gold(a, qrels[q], with_fallback=True) for q, a in answers)
    without_fb = sum(gold(a, qrels[q], with_fallback=False) for q, a in answers)
    model_cited = sum(any(not c.fallback for c in a.citations) for _, a in answers)
    supported = sum(c.supported for _, a in answers for c in a.citations)
    answers_supported = sum(any(c.supported for c in a.citations) for _, a in answers)
    return {
        "end-to-end latency p50 / p95": f"{pct(total, 0.5):.2f} s / {pct(total, 0.95):.2f} s",
        "time to first token p50 / p95 (end to end)": f"{pct(ttft, 0.5):.2f} s / {pct(ttft, 0.95):.2f} s",
        "mean prompt / completion tokens": f"{statistics.mean(a.usage.prompt_tokens for _, a in answers):.0f} / "
        f"{statistics.mean(a.usage.completion_tokens for _, a in answers):.0f}",
        "answers with any citation": f"{sum(bool(a.citations) for _, a in answers)}/{n} "
        f"(model's own markers: {model_cited}/{n})",
        "answers citing a gold-relevant document (with fallback)": f"{with_fb}/{n} = {with_fb / n:.0%}",
        "same, model's own markers only (no fallback)": f"{without_fb}/{n} = {without_fb / n:.0%}",
        "answers with a citation passing the lexical support check": f"{answers_supported}/{n}",
        "citations passing the lexical support check": f"{supported}/{sum(len(a.citations) for _, a in answers)}",
        "abstained": f"{sum(a.abstained for _, a in answers)}/{n}",
    }


def describe(quarry: Quarry) -> str:
    g, local = quarry.settings.generation, quarry.settings.llm.local
    return (
        f"prompt {g.prompt}, k {g.k}, {g.mode} retrieval, context budget {g.max_context_tokens} tokens, "
        f"max_tokens {g.max_tokens}, model {local.model}, {local.n_threads} llama.cpp thread(s)"
    )


def report(
    args: argparse.Namespace,
    runs: dict[str, Quarry],
    answers: dict[str, list[tuple[str, Answer]]],
    qrels: dict[str, set[str]],
    loads: list[float],
) -> None:
    table = {name: rows(found, qrels) for name, found in answers.items()}
    names = list(runs)
    lines = ["| measure | " + " | ".join(names) + " | target |", "|---" * (len(names) + 2) + "|"]
    for measure in table["chosen"]:
        target = "p50 ≤ 1.5 s" if measure.startswith("end-to-end") else ""
        lines.append(f"| {measure} | " + " | ".join(table[n][measure] for n in names) + f" | {target} |")
    command = "python bench/answer.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    configs = "\n".join(f"- {name}: {describe(quarry)}" for name, quarry in runs.items())
    body = f"""Command: `{command.strip()}` (first {args.n} SciFact test claims; with `--baseline` the two
configurations alternate claim by claim, each on its own llama.cpp server). Machine: {machine()}. Load average
(1 min, 2 cores) at start / end: {loads[0]:.2f} / {loads[1]:.2f}.

{configs}

{chr(10).join(lines)}
"""
    print(body)
    if not args.no_write:
        write_section(args.title, body)


if __name__ == "__main__":
    main()
