"""The measurements behind the answer pipeline's settings, all on the *tune* split of bench/qa/dev.jsonl.

    python bench/answer_levers.py weights      # extractive scoring: feature weights, top-1 answer containment
    python bench/answer_levers.py thresholds   # evidence score: abstention trade-off, supported-flag agreement
    python bench/answer_levers.py verifier     # a local model as yes/no answerability judge (AUC)
    python bench/answer_levers.py speed        # prompt reading and generation speed per model, format and threads
    python bench/answer_levers.py judge        # can a local model judge faithfulness? calibration AUC
    python bench/answer_levers.py calibrator   # a logistic model over the evidence features as supported flag

Each writes its own section of bench/RESULTS.md (``--no-write`` prints only). The corpus is the dev set's
(bench/qa_corpus.py); the test split is never read here.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa_corpus import COLLECTION, DEV_SET, ensure_corpus
from quarry.assembly import Quarry
from quarry.evaluation.answer_metrics import contains_answer
from quarry.evaluation.judge import auc
from quarry.evaluation.qa import load_qa_set
from quarry.generation import extractive
from quarry.generation.questions import analyse
from quarry.generation.run import Run, unmatched
from quarry.settings import Settings
from quarry.tracing import Tracer
from results import machine, write_section

STORE = Path(__file__).resolve().parent / "_work" / "qa" / "quarry.db"


@dataclass
class Case:
    item_id: str
    answerable: bool
    answers: tuple[str, ...]
    run: Run
    unmatched: bool


def cases(quarry: Quarry) -> list[Case]:
    """Every tune question retrieved, packed and ranked exactly as the served pipeline does."""
    answerer = quarry.answerer
    found = []
    for item in load_qa_set(DEV_SET, split="tune").items:
        with Tracer().trace("lever", item.id) as trace:
            run = Run(time.perf_counter(), item.question, item.question, analyse(item.question))
            result = answerer._retrieve(trace, item.question, COLLECTION, answerer.settings.k, None)
            answerer._pack(trace, run, COLLECTION, result)
        missing = bool(unmatched(run.asked, [*run.sources, *run.extra]))
        found.append(Case(item.id, item.answerable, item.answers, run, missing))
    return found


def containment(all_cases: Sequence[Case], weights: tuple[float, ...]) -> float:
    """Top-1 answer containment of the extractive ranking under ``weights`` (re-ranked from the features)."""
    lexical, fits, missing, pair, dense = weights
    hits = 0
    answerable = [c for c in all_cases if c.answerable]
    for case in answerable:
        scored = [
            (lexical * q.lexical + fits * q.fits - missing * len(q.missing) + pair * q.pair + dense * q.dense, q)
            for q in case.run.quotes
        ]
        if scored and contains_answer(max(scored, key=lambda t: t[0])[1].text, case.answers):
            hits += 1
    return hits / len(answerable)


def weights_section(all_cases: list[Case]) -> str:
    grid = list(itertools.product([1, 2, 3, 4, 6], [0, 0.5, 1, 2, 3], [0, 0.25, 0.5, 1], [0, 0.1, 0.2], [0, 1, 2]))
    ranked = sorted(((containment(all_cases, w), w) for w in grid), reverse=True)
    chosen = (extractive.LEXICAL, extractive.FITS, extractive.MISSING, extractive.PAIR, extractive.DENSE)
    rows = [("chosen default", chosen), ("fit weight 1 (the default before 2026-12-05)", (chosen[0], 1, *chosen[2:])),
            ("lexical only", (1, 0, 0, 0, 0)), ("no dense term", (*chosen[:4], 0)),
            ("no type fit", (chosen[0], 0, *chosen[2:])), ("no qualifier penalty", (*chosen[:2], 0, *chosen[3:])),
            ("single sentences (no pair bonus)", (*chosen[:3], 0, chosen[4]))]  # fmt: skip
    lines = ["| weights (lexical, fits, missing, pair, dense) | top-1 containment |", "|---|---:|"]
    lines += [f"| {name} {w} | {containment(all_cases, w):.3f} |" for name, w in rows]
    lines += [f"| grid best {w} | {score:.3f} |" for score, w in ranked[:3]]
    oracle = sum(any(contains_answer(q.text, c.answers) for q in c.run.quotes) for c in all_cases if c.answerable)
    share = oracle / sum(c.answerable for c in all_cases)
    return "\n".join(lines) + f"\n\nOracle (some candidate holds the answer): {share:.3f}. Grid: {len(grid)} points."


def thresholds_section(all_cases: list[Case], evidence: float) -> str:
    """Abstention and flag agreement over evidence floors around ``evidence`` (the configured floor)."""
    answerable = [c for c in all_cases if c.answerable]
    unanswerable = [c for c in all_cases if not c.answerable]

    def top(case: Case) -> Any:
        return case.run.quotes[0] if case.run.quotes else None

    def abstains(case: Case, floor: float) -> bool:
        quote = top(case)
        return case.unmatched or quote is None or quote.score < floor

    def correct(case: Case) -> bool:
        quote = top(case)
        return quote is not None and case.answerable and contains_answer(quote.text, case.answers)

    lines = ["| evidence floor | false abstention (answerable) | correct abstention (unanswerable) | answered & right |",
             "|---:|---:|---:|---:|"]  # fmt: skip
    for floor in (0.0, *(round(evidence + d, 1) for d in (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0))):
        false_rate = sum(abstains(c, floor) for c in answerable) / len(answerable)
        true_rate = sum(abstains(c, floor) for c in unanswerable) / len(unanswerable)
        right = sum(correct(c) and not abstains(c, floor) for c in answerable) / len(answerable)
        lines.append(f"| {floor} | {false_rate:.3f} | {true_rate:.3f} | {right:.3f} |")
    lines += ["", f"| supported when evidence ≥ | flag/correctness agreement (answered, floor {evidence}) |",
              "|---:|---:|"]  # fmt: skip
    answered = [c for c in all_cases if not abstains(c, evidence)]
    for floor in (round(evidence + d, 1) for d in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)):
        agree = [(top(c).fits and not top(c).missing and top(c).score >= floor) == correct(c) for c in answered]
        lines.append(f"| {floor} | {sum(agree) / len(agree):.3f} |")
    return "\n".join(lines)


def verifier_section(all_cases: list[Case], models: Sequence[str]) -> str:
    from quarry.llm import ChatSettings, build_chat_model
    from quarry.settings import LLMSettings
    from quarry.types import Message

    schema = {"type": "object", "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
              "required": ["answer"]}  # fmt: skip
    lines = [
        "| judge model | AUC (right vs wrong best sentence) | yes rate right | yes rate wrong |",
        "|---|---:|---:|---:|",
    ]
    for name in models:
        chat = build_chat_model(LLMSettings(local={"model": name, "n_threads": 2}))
        right: list[float] = []
        wrong: list[float] = []
        for case in all_cases:
            if not case.run.quotes:
                continue
            quote = case.run.quotes[0]
            messages = [Message("system", "You decide whether a text answers a question. Reply yes only if the "
                                "text states the answer."),
                        Message("user", f"Question: {case.run.question}\nText: {quote.scored}\nDoes the text state "
                                "the answer to the question?")]  # fmt: skip
            done = chat.complete(messages, settings=ChatSettings(max_tokens=16, temperature=0), response_schema=schema)
            good = case.answerable and contains_answer(quote.text, case.answers)
            (right if good else wrong).append(1.0 if '"yes"' in done.text else 0.0)
        chat.close()
        lines.append(
            f"| {name} | {auc(right, wrong):.3f} | {sum(right) / len(right):.2f} | {sum(wrong) / len(wrong):.2f} |"
        )
    return "\n".join(lines)


def judge_section(all_cases: list[Case], models: Sequence[str]) -> str:
    """Calibrate each local model as a faithfulness judge on the tune split's right extractive answers (the
    best sentence, which holds the answer, against the passages it came from) and their perturbations."""
    from quarry.evaluation.judge import Judge, calibrate
    from quarry.llm import build_chat_model
    from quarry.settings import LLMSettings

    faithful = []
    for case in all_cases:
        quote = case.run.quotes[0] if case.run.quotes else None
        if quote is not None and case.answerable and contains_answer(quote.text, case.answers):
            source = [*case.run.sources, *case.run.extra][quote.source - 1]
            faithful.append((" ".join(quote.text.split()), source.text))
    lines = ["| judge model | AUC all | number changed | name swapped | sentence added | faithful / perturbed | usable |",
             "|---|---:|---:|---:|---:|---:|---|"]  # fmt: skip
    for name in models:
        chat = build_chat_model(LLMSettings(local={"model": name, "n_threads": 2}))
        result = calibrate(Judge(chat), faithful[:30])
        chat.close()
        kinds = [f"{result.by_kind.get(k, float('nan')):.2f}" for k in ("number", "name", "outside")]
        lines.append(
            f"| {name} | {result.auc:.2f} | {' | '.join(kinds)} | {result.faithful} / {result.perturbed} | "
            f"{'yes' if result.usable else 'no'} |"
        )
    return "\n".join(lines)


def _features(case: Case) -> list[float]:
    quotes = case.run.quotes
    first, second = quotes[0], (quotes[1] if len(quotes) > 1 else None)
    return [first.score, first.lexical, float(first.fits), float(len(first.missing)), first.dense,
            first.score - second.score if second else 3.0, float(bool(second and second.source == first.source)),
            float(len(quotes))]  # fmt: skip


def calibrator_section(all_cases: list[Case]) -> str:
    """Leave-one-out logistic regression over the best quote's features (answered tune questions): can a learned
    combination predict correctness better than the hand-set rule (``fits``, nothing missing, score ≥ 2.6)?"""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import LeaveOneOut, cross_val_predict

    answered = [c for c in all_cases if c.run.quotes and not c.unmatched and c.run.quotes[0].score >= 2.4]
    features = np.array([_features(c) for c in answered])
    right = np.array([c.answerable and contains_answer(c.run.quotes[0].text, c.answers) for c in answered])
    chance = cross_val_predict(LogisticRegression(max_iter=1000), features, right, cv=LeaveOneOut(),
                               method="predict_proba")[:, 1]  # fmt: skip
    rule = np.array([q.fits and not q.missing and q.score >= 2.6 for q in (c.run.quotes[0] for c in answered)])
    lines = ["| flag | AUC | agreement (best cut) |", "|---|---:|---:|"]
    cuts = [(float(np.mean((chance >= t) == right)), float(t)) for t in np.arange(0.2, 0.81, 0.05)]
    best, cut = max(cuts)
    lines.append(f"| logistic, leave-one-out | {auc(list(chance[right]), list(chance[~right])):.3f} | "
                 f"{best:.3f} (p ≥ {cut:.2f}) |")  # fmt: skip
    lines.append(f"| rule (default) | — | {float(np.mean(rule == right)):.3f} |")
    return "\n".join(lines) + f"\n\n{len(answered)} answered questions, {int(right.sum())} right."


def speed_section() -> str:
    import httpx

    from quarry.llm.local import CACHE_DIR, ServerParams, local_server_url, locate_model
    from quarry.llm.repack import repacked

    essay = (Path(__file__).resolve().parents[2] / "shared/datasets/paul-graham-essay/data/paul_graham/"
             "paul_graham_essay.txt").read_text().split()  # fmt: skip
    lines = [
        "| model | weights | threads | prompt tok/s (≈800-token prompt) | generation tok/s |",
        "|---|---|---:|---:|---:|",
    ]
    for name in ("smollm2", "qwen2.5-0.5b", "gemma3-270m"):
        source = locate_model(name)
        for label, path in (("as packaged", source), ("Q8_0 repack", repacked(source, CACHE_DIR))):
            for threads in (1, 2):
                url = local_server_url(path, ServerParams(n_threads=threads, n_ctx=4096))
                reads, writes = [], []
                for rep in range(2):
                    text = " ".join(essay[rep * 2000 + 7 : rep * 2000 + 7 + 600])
                    body = {"messages": [{"role": "user", "content": f"{text}\n\nWhat did the author work on?"}],
                            "max_tokens": 48, "temperature": 0, "cache_prompt": False}  # fmt: skip
                    timings = httpx.post(url + "/v1/chat/completions", json=body, timeout=600).json()["timings"]
                    reads.append(timings["prompt_per_second"])
                    writes.append(timings["predicted_per_second"])
                lines.append(f"| {name} | {label} | {threads} | {sum(reads) / 2:.0f} | {sum(writes) / 2:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lever", choices=["weights", "thresholds", "verifier", "judge", "speed", "calibrator"])
    parser.add_argument("--models", default="smollm2,qwen2.5-0.5b")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    command = "python bench/answer_levers.py " + " ".join(sys.argv[1:])
    if args.lever == "speed":
        body, title = speed_section(), "Answer models: prompt reading and generation speed"
    else:
        quarry = ensure_corpus(Settings(store={"path": STORE}))
        keep_dense = extractive.DENSE_POOL
        extractive.DENSE_POOL = 10**6  # every candidate gets its dense cosine, so the grid can weigh it
        all_cases = cases(quarry)
        extractive.DENSE_POOL = keep_dense
        producers: dict[str, Callable[[], str]] = {
            "weights": lambda: weights_section(all_cases),
            "thresholds": lambda: thresholds_section(all_cases, quarry.settings.generation.min_evidence_score),
            "verifier": lambda: verifier_section(all_cases, args.models.split(",")),
            "judge": lambda: judge_section(all_cases, args.models.split(",")),
            "calibrator": lambda: calibrator_section(all_cases),
        }
        body = producers[args.lever]()
        title = {"weights": "Answer levers: extractive scoring weights (tune split)",
                 "thresholds": "Answer levers: evidence thresholds (tune split)",
                 "verifier": "Answer levers: a local model as answerability judge (tune split)",
                 "judge": "Answer levers: a local model as faithfulness judge, calibrated (tune split)",
                 "calibrator": "Answer levers: a learned supported flag (tune split)"}[args.lever]  # fmt: skip
    text = f"`{command}` — {machine()}.\n\n{body}"
    print(text)
    if not args.no_write:
        write_section(title, text)


if __name__ == "__main__":
    main()
