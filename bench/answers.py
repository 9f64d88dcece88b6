"""Answers on the dev set (bench/qa/dev.jsonl): Quarry's default pipeline next to a plain LlamaIndex query engine
(top-k 2 and 5) with the same embedding model and the same GGUF, for each candidate local model, in one run.

    python bench/answers.py [--split test] [--models smollm2,qwen2.5-0.5b,gemma3-270m] [--threads 2]
                            [--systems quarry,extract,llamaindex-2,llamaindex-5] [--limit N] [--no-write]
    python bench/answers.py --report   # the table from the newest stored run of each system and model

Runs are stored in bench/_work/qa/runs, so the slow LlamaIndex rows can be measured in a separate invocation
(``--systems llamaindex-2,llamaindex-5``) from Quarry's (``--systems quarry,extract`` on a quiet machine, since
its latency is a target) and ``--report`` then writes one section with both.

Every system is scored by the same code (``quarry.evaluation``): accuracy (reference contained) with a 95%
bootstrap CI, correct abstention on unanswerable questions, false abstention on answerable ones, citation
precision/recall against the gold documents, a cited quote containing the answer, supported-flag agreement,
truncated answers, latency p50/p95 and time to first token; and a paired test of Quarry against LlamaIndex
top-5 on the same questions. The corpus is ingested into bench/_work/qa/ first (see bench/qa_corpus.py).
``extract`` is Quarry with ``generation.answer_mode = "extract"`` (no model call). Peak RSS is the process's.
"""

from __future__ import annotations

import argparse
import resource
import shlex
import sys
from pathlib import Path
from typing import Any

from qa_corpus import COLLECTION, DEV_SET, ensure_corpus
from quarry.assembly import Quarry
from quarry.assembly.evaluation import answer_target
from quarry.evaluation.answer_runner import AnswerRun, compare_runs, run_answers
from quarry.evaluation.outcome import AnswerSystem
from quarry.evaluation.qa import QASet, load_qa_set
from quarry.evaluation.runs import save_run
from quarry.settings import Settings
from quarry.types import Document
from results import machine, write_section

HERE = Path(__file__).resolve().parent
STORE = HERE / "_work" / "qa" / "quarry.db"
RUNS = HERE / "_work" / "qa" / "runs"
COLUMNS = (
    "correct",
    "contains",
    "abstained_unanswerable",
    "abstained_answerable",
    "citation_precision",
    "citation_recall",
    "quote_has_answer",
    "supported_agreement",
    "truncated",
)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="test")
    parser.add_argument("--models", default="smollm2,qwen2.5-0.5b,gemma3-270m")
    parser.add_argument("--systems", default="quarry,extract,llamaindex-2,llamaindex-5")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--report", action="store_true", help="no runs: the table from the stored runs")
    return parser.parse_args()


def settings_for(model: str, threads: int, **generation: Any) -> Settings:
    # a long timeout: LlamaIndex's refine prompts on a busy machine can take minutes, and a retry costs the run
    llm = {"timeout_s": 900, "local": {"model": model, "n_threads": threads}}
    return Settings(store={"path": STORE}, llm=llm, generation=generation)


def documents(quarry: Quarry) -> list[Document]:
    """Every document of the dev collection, as Quarry parsed it."""
    found: list[Document] = []
    offset = 0
    while page := quarry.store.documents(COLLECTION, limit=500, offset=offset):
        for info in page:
            document = quarry.store.document(COLLECTION, info.uri)
            if document is not None and info.duplicate_of is None:
                found.append(document)
        offset += len(page)
    return found


def measure(
    qa: QASet, system: AnswerSystem, name: str, config: dict[str, Any], config_key: str = "", folder: Path = RUNS
) -> AnswerRun:
    def progress(done: int, total: int, _: object) -> None:
        print(f"\r  {name}: {done}/{total}", end="", file=sys.stderr, flush=True)

    run = run_answers(qa, system, name=name, config=config, config_key=config_key, progress=progress)
    print(file=sys.stderr)
    save_run(run, folder)
    return run


def quarry_run(qa: QASet, model: str, threads: int, name: str, folder: Path = RUNS, **generation: Any) -> AnswerRun:
    quarry = ensure_corpus(settings_for(model, threads, **generation))
    quarry.answerer.answer(qa.items[0].question, COLLECTION)  # loads the model before the clock runs
    target = answer_target(quarry.answerer, quarry.store, quarry.settings, COLLECTION, None)
    run = measure(qa, target, f"{name} · {model}", target.config, folder=folder)
    quarry.close()
    return run


def llamaindex_runs(
    qa: QASet, model: str, threads: int, ks: list[int], vectors: dict[str, list[float]]
) -> list[AnswerRun]:
    from llamaindex_qa import LlamaIndexQA

    quarry = ensure_corpus(settings_for(model, threads))
    corpus = documents(quarry)
    found = []
    for k in ks:
        system = LlamaIndexQA(corpus, quarry.chat_model, top_k=k, vectors=vectors)
        system(qa.items[0])  # loads the model
        config = {"model": quarry.chat_model.model_id, "top_k": k}
        found.append(measure(qa, system, f"LlamaIndex top-{k} · {model}", config))
    quarry.close()
    return found


def cell(run: AnswerRun, metric: str) -> str:
    ci = run.summary.get(metric)
    if ci is None or (run.name.startswith("LlamaIndex") and metric.startswith("supported")):
        return "—"
    return f"{ci.mean:.2f} [{ci.low:.2f}, {ci.high:.2f}]"


def table(model: str, runs: list[AnswerRun]) -> str:
    header = ["system", *COLUMNS, "p50 s", "p95 s", "TTFT p50 s"]
    lines = [f"**{model}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for run in runs:
        ttft = f"{run.ttft.p50:.2f}" if run.ttft.p50 else "—"
        lines.append(
            "| "
            + " | ".join(
                [run.name, *(cell(run, m) for m in COLUMNS), f"{run.latency.p50:.2f}", f"{run.latency.p95:.2f}", ttft]
            )
            + " |"
        )
    top = {k: next((r for r in runs if r.name.startswith(f"LlamaIndex top-{k}")), None) for k in (5, 2)}
    k, baseline = next(((k, run) for k, run in top.items() if run is not None), (0, None))
    quarry = next((r for r in runs if r.name.startswith("Quarry ·")), None)
    if baseline and quarry:
        for c in compare_runs(baseline, quarry, ["correct", "contains", "token_f1"]):
            lines.append(
                f"\nQuarry − LlamaIndex top-{k}, {c.metric}: {c.difference.mean:+.3f} "
                f"[{c.difference.low:+.3f}, {c.difference.high:+.3f}], paired p = {c.p_value:.4f} (n = {c.test.n})"
            )
    return "\n".join(lines)


def stored(qa: QASet, models: list[str], systems: list[str]) -> dict[str, list[AnswerRun]]:
    """The newest stored run of each (model, system) on ``qa``'s questions."""
    from quarry.evaluation.runs import list_runs, load_run

    names = {"quarry": "Quarry", "extract": "Quarry extract (no model)", "llamaindex-2": "LlamaIndex top-2",
             "llamaindex-5": "LlamaIndex top-5"}  # fmt: skip
    newest: dict[str, AnswerRun] = {}
    for info in list_runs(RUNS):  # newest first
        if info.name not in newest:
            run = load_run(info.path)
            if run.fingerprint == qa.fingerprint():
                newest[info.name] = run
    return {m: [newest[f"{names[s]} · {m}"] for s in systems if f"{names[s]} · {m}" in newest] for m in models}


def main() -> None:
    args = arguments()
    qa = load_qa_set(DEV_SET, split=args.split)
    if args.limit:
        qa = QASet(qa.name, qa.items[: args.limit])
    systems, models = args.systems.split(","), args.models.split(",")
    vectors: dict[str, list[float]] = {}
    by_model: dict[str, list[AnswerRun]] = {}
    for model in [] if args.report else models:
        runs = by_model.setdefault(model, [])
        if "quarry" in systems:
            runs.append(quarry_run(qa, model, args.threads, "Quarry"))
        if "extract" in systems:
            runs.append(quarry_run(qa, model, args.threads, "Quarry extract (no model)", answer_mode="extract"))
        ks = [int(s.split("-")[1]) for s in systems if s.startswith("llamaindex-")]
        if ks:
            runs += llamaindex_runs(qa, model, args.threads, ks, vectors)
    if args.report:
        by_model = stored(qa, models, systems)
    sections = [table(f"{model}, {args.threads} thread(s)", runs) for model, runs in by_model.items() if runs]
    print("\n\n".join(sections))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    command = "python bench/answers.py " + shlex.join(sys.argv[1:])
    body = (
        f"`{command}` — {machine()}. {qa.name}: {len(qa.items)} questions ({qa.answerable} answerable). "
        f"Accuracy columns are means with 95% bootstrap CIs; peak RSS {peak:.0f} MB.\n\n" + "\n\n".join(sections)
    )
    if not args.no_write:
        title = "Answers: Quarry vs LlamaIndex on the dev set"
        write_section(title + (f" (first {args.limit} questions)" if args.limit else ""), body)


if __name__ == "__main__":
    main()
