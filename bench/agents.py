"""Agents: tool-calling accuracy of the packaged local models on BFCL, and task success on multi-step
knowledge-base + SQL tasks over the shared documents.

    pip install --no-deps bfcl-eval        # BFCL's questions and possible answers (data only)
    python bench/agents.py bfcl [--models smollm2,qwen2.5-0.5b] [--categories simple_python,multiple,parallel]
                                [--limit N] [--no-write]
    python bench/agents.py tasks [--models smollm2,qwen2.5-0.5b] [--no-write]

``bfcl``: each question goes to the model once with BFCL's functions as tools, through Quarry's tool path
(:class:`~quarry.llm.SchemaTools`: a constrained tool-choice schema, since the local models have no native
tool calling; ``parallel`` with ``[llm.local] parallel_tools = true``); the calls are scored by bench/bfcl.py
(BFCL's AST rules, simplified). "Right tool(s), valid arguments": the calls name exactly the functions the
ground truth calls and their arguments validate against those functions' schemas; "exact": the arguments'
values are also among BFCL's possible answers. ``tasks``: see bench/agent_tasks.py.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bfcl import load, matches, tool_spec
from quarry.llm import ChatSettings
from quarry.llm.local import LocalChatModel
from quarry.types import Message
from results import machine, write_section

SAMPLE_SEED = 7


def _valid(calls: list[tuple[str, dict[str, Any]]], specs: dict[str, Any]) -> bool:
    for name, arguments in calls:
        spec = specs.get(name)
        if spec is None:
            return False
        try:
            jsonschema.validate(arguments, spec.parameters)
        except jsonschema.ValidationError:
            return False
    return bool(calls)


def run_bfcl(model_name: str, category: str, limit: int | None, lora: Path | None = None) -> dict[str, Any]:
    """Scores of one model on one category; ``lora``: a GGUF LoRA adapter applied to the model.
    ``per_item`` keeps each question's exact-match score (same seeded sample for every model, so runs pair up)."""
    items = load(category)
    if limit is not None and limit < len(items):
        items = random.Random(SAMPLE_SEED).sample(items, limit)
    model = LocalChatModel(model_name, n_threads=2, parallel_tools=category.startswith("parallel"), lora=lora)
    model.load()
    correct = valid = right = 0
    per_item: list[int] = []
    latencies: list[float] = []
    for item, truth in items:
        specs = {f["name"]: tool_spec(f) for f in item["function"]}
        messages = [Message(m["role"], m["content"]) for m in item["question"][0]]
        began = time.perf_counter()
        done = model.complete(messages, tools=list(specs.values()),
                              settings=ChatSettings(max_tokens=384, temperature=0.0))  # fmt: skip
        latencies.append(time.perf_counter() - began)
        calls = []
        for call in done.tool_calls:
            try:
                calls.append((call.name, json.loads(call.arguments or "{}")))
            except json.JSONDecodeError:
                calls.append((call.name, {}))
        is_valid = _valid(calls, specs)
        valid += is_valid
        right += is_valid and sorted(n for n, _ in calls) == sorted(next(iter(t)) for t in truth)
        per_item.append(int(matches(calls, truth)))
        correct += per_item[-1]
    model.close()
    n = len(items)
    return {"model": model_name, "category": category, "n": n, "accuracy": correct / n, "valid": valid / n,
            "right_valid": right / n, "per_item": per_item,
            "p50_s": statistics.median(latencies), "p95_s": sorted(latencies)[int(0.95 * (n - 1))]}  # fmt: skip


def _ci(p: float, n: int) -> str:
    half = 1.96 * (p * (1 - p) / n) ** 0.5
    return f"{p:.3f} ± {half:.3f}"


def bfcl_main(args: argparse.Namespace) -> None:
    rows = []
    for model_name in args.models.split(","):
        for category in args.categories.split(","):
            row = run_bfcl(model_name, category, args.limit)
            rows.append(row)
            print(json.dumps(row), flush=True)
    lines = ["| model | category | n | right tool(s), valid arguments (95% CI) | exact (BFCL AST, 95% CI) | "
             "p50 s | p95 s |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        lines.append(f"| {r['model']} | {r['category']} | {r['n']} | {_ci(r['right_valid'], r['n'])} | "
                     f"{_ci(r['accuracy'], r['n'])} | {r['p50_s']:.2f} | {r['p95_s']:.2f} |")  # fmt: skip
    body = (f"Command: `python bench/agents.py {shlex.join(sys.argv[1:])}`\n\nMachine: {machine()}\n\n"
            + "\n".join(lines) + "\n\nBFCL v4 data from the `bfcl-eval` wheel; scored by bench/bfcl.py (AST rules, "
            "simplified: strings compared case- and punctuation-insensitively, optional parameters may be "
            f"omitted). Samples drawn with seed {SAMPLE_SEED} when `--limit` is given.")  # fmt: skip
    print(body)
    if not args.no_write:
        write_section("Agents: tool calling on BFCL", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    bfcl = sub.add_parser("bfcl")
    bfcl.add_argument("--models", default="smollm2,qwen2.5-0.5b")
    bfcl.add_argument("--categories", default="simple_python,multiple,parallel")
    bfcl.add_argument("--limit", type=int, default=None, help="questions per category (seeded sample)")
    bfcl.add_argument("--no-write", action="store_true")
    tasks = sub.add_parser("tasks")
    tasks.add_argument("--models", default="smollm2,qwen2.5-0.5b")
    tasks.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.command == "bfcl":
        bfcl_main(args)
    else:
        from agent_tasks import tasks_main

        tasks_main(args)


if __name__ == "__main__":
    main()
