"""Cited answers over SciFact with the local model: latency (time to first token, total) and how often the
citations point to a gold-relevant document.

    python bench/answer.py [--store bench/_work/scifact/quarry.db] [--n 30] [--k 2] [--max-tokens 64]
                           [--context-tokens 300] [--threads 1] [--prompt answer@2] [--title "..."]

Needs a SciFact collection "scifact" (``python bench/ingest.py --keep bench/_work/scifact``). Claims are the
first ``n`` query ids of ``qrels/test.tsv``; a document's uri is ``<corpus path>#<doc id>``.
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

from quarry.assembly import build
from quarry.generation import Answer, DoneEvent
from quarry.settings import GenerationSettings, LLMSettings, LocalModelSettings, Settings, StoreSettings
from results import machine, write_section

HERE = Path(__file__).resolve().parent
SCIFACT = HERE.parents[1] / "shared/datasets/scifact"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, default=HERE / "_work/scifact/quarry.db")
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--context-tokens", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--prompt", default="answer@2")
    parser.add_argument("--title", default="Answers: SciFact claims with the local model")
    args = parser.parse_args()
    generation = GenerationSettings(
        prompt=args.prompt, k=args.k, max_tokens=args.max_tokens, max_context_tokens=args.context_tokens
    )
    llm = LLMSettings(local=LocalModelSettings(n_threads=args.threads, n_ctx=2048))
    quarry = build(Settings(store=StoreSettings(path=args.store), llm=llm, generation=generation))
    questions, qrels = claims(args.n)
    quarry.answerer.answer(questions[0][1], "scifact")  # warm-up: starts the server, loads the embedder
    answers = []
    for qid, text in questions:
        done = [e for e in quarry.answerer.stream(text, "scifact") if isinstance(e, DoneEvent)]
        answers.append((qid, done[0].answer))
        print(f"{done[0].answer.seconds:5.2f}s {done[0].answer.text[:100]!r}", file=sys.stderr)
    quarry.close()
    report(args, answers, qrels)


def report(args: argparse.Namespace, answers: list[tuple[str, Answer]], qrels: dict[str, set[str]]) -> None:
    total = [a.seconds for _, a in answers]
    ttft = [a.ttft_s for _, a in answers if a.ttft_s is not None]
    n = len(answers)
    cited = sum(bool(a.citations) for _, a in answers)
    with_fb = sum(gold(a, qrels[q], with_fallback=True) for q, a in answers)
    without_fb = sum(gold(a, qrels[q], with_fallback=False) for q, a in answers)
    model_cited = sum(any(not c.fallback for c in a.citations) for _, a in answers)
    supported = sum(c.supported for _, a in answers for c in a.citations)
    n_citations = sum(len(a.citations) for _, a in answers)
    prompt_tokens = statistics.mean(a.usage.prompt_tokens for _, a in answers)
    completion = statistics.mean(a.usage.completion_tokens for _, a in answers)
    command = "python bench/answer.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    body = f"""Command: `{command.strip()}` (prompt {args.prompt}, k {args.k}, context budget {args.context_tokens} tokens,
max_tokens {args.max_tokens}, {args.threads} llama.cpp thread(s), SmolLM2-135M Q4_1, dense retrieval; first {n}
SciFact test claims). Machine: {machine()}. Load average when it finished: {os.getloadavg()[0]:.2f} (2 cores).

| measure | value | target |
|---|---|---|
| end-to-end latency p50 / p95 | {pct(total, 0.5):.2f} s / {pct(total, 0.95):.2f} s | p50 ≤ 1.5 s |
| time to first token p50 / p95 (end to end) | {pct(ttft, 0.5):.2f} s / {pct(ttft, 0.95):.2f} s | |
| mean prompt / completion tokens | {prompt_tokens:.0f} / {completion:.0f} | |
| answers with any citation | {cited}/{n} (model's own markers: {model_cited}/{n}) | |
| answers citing a gold-relevant document (with fallback) | {with_fb}/{n} = {with_fb / n:.0%} | |
| same, model's own markers only (no fallback) | {without_fb}/{n} = {without_fb / n:.0%} | |
| citations passing the lexical support check | {supported}/{n_citations} | |
| abstained | {sum(a.abstained for _, a in answers)}/{n} | |
"""
    print(body)
    write_section(args.title, body)


if __name__ == "__main__":
    main()
