"""The semantic answer cache: which cosine threshold serves paraphrases and never a different question.

    python bench/cache.py pairs       # paraphrase the dev questions with the local Qwen model -> cache_pairs.jsonl
    python bench/cache.py threshold   # hit rate on paraphrases, false hits on near-misses, per threshold
    python bench/cache.py speed       # a cached answer's latency against a generated one (dev store)
    [--no-write]

Pairs (bench/cache_pairs.jsonl, made once by ``pairs`` and committed):

- *paraphrases* (must hit): each dev question rewritten by Qwen2.5-0.5B ("same meaning, other words, keep every
  number and name"); the rewrite is kept only when it differs from the question.
- *near-misses* (must not hit): (a) two dev questions about the same document (same words, another fact:
  "What was revenue in Q1?" / "What was net income in Q1?"), (b) the question with one number changed, (c) the
  question with one name swapped for a name from another question.

A pair is served when the exact key matches (the key carries the question's numbers and names, see
``quarry.generation.cached``) and the cosine of the MiniLM query vectors reaches the threshold. The threshold is
chosen on the *tune* split's pairs (most hits among thresholds with no false hit on tune, which bounds the false-hit
rate well under the 1% budget) and reported on *test*.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from quarry.embeddings import MiniLMEmbedder  # noqa: E402
from quarry.evaluation.qa import load_qa_set  # noqa: E402
from quarry.generation.cached import answer_key  # noqa: E402
from quarry.llm import ChatSettings, build_chat_model  # noqa: E402
from quarry.settings import LLMSettings  # noqa: E402
from quarry.types import Message  # noqa: E402
from results import machine, write_section  # noqa: E402

PAIRS = HERE / "cache_pairs.jsonl"
DEV = HERE / "qa" / "dev.jsonl"
FALSE_HIT_BUDGET = 0.01
THRESHOLDS = [0.80, 0.85, 0.88, 0.90, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97, 0.98]
_NUMBER = re.compile(r"\b\d[\d,.]*\b")
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s[A-Z][a-z]+)*\b")
_PROMPT = (
    "Rewrite the question with different words. Keep its meaning and every number and name. "
    "Reply with the rewritten question only.\n\nQuestion: {q}\nRewritten:"
)


def make_pairs() -> str:
    qa = load_qa_set(DEV)
    model = build_chat_model(LLMSettings.model_validate({"local": {"model": "qwen2.5-0.5b"}}))
    rng = random.Random(7)
    rows: list[dict[str, str]] = []
    names = sorted({n for item in qa.items for n in _NAME.findall(item.question)[1:]})
    for n, item in enumerate(qa.items):
        reply = model.complete([Message("user", _PROMPT.format(q=item.question))], settings=ChatSettings(max_tokens=48))
        rewrite = reply.text.strip().split("\n")[0].strip().strip('"')
        if rewrite and rewrite.lower() != item.question.lower():
            rows.append({"kind": "paraphrase", "a": item.question, "b": rewrite, "split": item.split})
        if numbers := _NUMBER.findall(item.question):
            old = rng.choice(numbers)
            new = str(int(re.sub(r"\D", "", old) or "1") + rng.choice([1, 2, 10]))
            rows.append({"kind": "number", "a": item.question, "b": item.question.replace(old, new, 1),
                         "split": item.split})  # fmt: skip
        own = _NAME.findall(item.question)[1:]  # the first capitalised word starts the sentence
        if own and names:
            other = rng.choice([x for x in names if x not in own] or names)
            rows.append({"kind": "name", "a": item.question, "b": item.question.replace(own[0], other, 1),
                         "split": item.split})  # fmt: skip
        print(f"\r{n + 1}/{len(qa.items)}", end="", file=sys.stderr, flush=True)
    model.close()
    PAIRS.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    kinds = {k: sum(r["kind"] == k for r in rows) for k in ("paraphrase", "number", "name")}
    return f"wrote {PAIRS}: {kinds}"


def _key(question: str) -> str:
    parts = answer_key(collection="c", generation=1, question=question, where=None, k=5, prompt="p", model="m",
                       settings={}, guards={}, history=(), system=None)  # fmt: skip
    return json.dumps([parts["numbers"], parts["names"], parts["quoted"]])


def _rates(rows: list[dict[str, object]], threshold: float, *, use_key: bool) -> tuple[float, float]:
    def served(row: dict[str, object]) -> bool:
        return float(row["cosine"]) >= threshold and (not use_key or bool(row["same_key"]))  # type: ignore[arg-type]

    good = [served(r) for r in rows if r["kind"] == "paraphrase"]
    bad = [served(r) for r in rows if r["kind"] != "paraphrase"]
    return sum(good) / max(1, len(good)), sum(bad) / max(1, len(bad))


def same_document_pairs() -> list[dict[str, object]]:
    """Every pair of dev questions about the same document: same subject and words, another fact."""
    groups: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    for item in load_qa_set(DEV).items:
        groups.setdefault(tuple(item.gold_docs), []).append((item.question, item.split))
    return [{"kind": "same-document", "a": a, "b": b, "split": split}
            for group in groups.values() for (a, split), (b, _) in itertools.combinations(group, 2)]  # fmt: skip


def threshold() -> str:
    embedder = MiniLMEmbedder()
    stored = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines()]
    rows: list[dict[str, object]] = [r for r in stored if r["kind"] != "same-document"] + same_document_pairs()
    vectors: dict[str, np.ndarray] = {}

    def vector(text: str) -> np.ndarray:
        if text not in vectors:
            found = embedder.embed_query(text).reshape(-1)
            vectors[text] = found / np.linalg.norm(found)
        return vectors[text]

    for row in rows:
        row["cosine"] = float(np.dot(vector(str(row["a"])), vector(str(row["b"]))))
        row["same_key"] = _key(str(row["a"])) == _key(str(row["b"]))
    tune = [r for r in rows if r["split"] == "tune"]
    test = [r for r in rows if r["split"] != "tune"]
    # no false hit at all on tune: with ~1,250 tune near-misses that bounds the rate at 3/n ≈ 0.24% (95%, rule of
    # three), well inside the 1% budget; the lowest threshold with a point estimate under 1% sat at the budget's
    # edge on test
    chosen = max((t for t in THRESHOLDS if _rates(tune, t, use_key=True)[1] == 0.0), default=0.98,
                 key=lambda t: (_rates(tune, t, use_key=True)[0], -t))  # fmt: skip
    counts = {k: (sum(r["kind"] == k and r["split"] == "tune" for r in rows),
                  sum(r["kind"] == k and r["split"] != "tune" for r in rows))
              for k in ("paraphrase", "same-document", "number", "name")}  # fmt: skip
    lines = [
        "pairs (tune / test): " + ", ".join(f"{k} {a}/{b}" for k, (a, b) in counts.items()),
        "",
        "| threshold | tune hit rate | tune false hits | tune false hits, cosine alone | test hit rate | test false "
        "hits | test false hits, cosine alone |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in THRESHOLDS:
        th, tf = _rates(tune, t, use_key=True)
        _, tf_cos = _rates(tune, t, use_key=False)
        sh, sf = _rates(test, t, use_key=True)
        _, sf_cos = _rates(test, t, use_key=False)
        mark = " **(default)**" if t == chosen else ""
        lines.append(f"| {t:.2f}{mark} | {th:.3f} | {tf:.3f} | {tf_cos:.3f} | {sh:.3f} | {sf:.3f} | {sf_cos:.3f} |")
    per_kind = []
    for kind in ("same-document", "number", "name"):
        sel = [r for r in test if r["kind"] == kind]
        served = sum(float(r["cosine"]) >= chosen and bool(r["same_key"]) for r in sel)  # type: ignore[arg-type]
        per_kind.append(f"{kind} {served}/{len(sel)}")
    lines += ["", f"Chosen on tune (no false hit, then most hits; budget {FALSE_HIT_BUDGET:.0%}): **{chosen:.2f}**. "
              "Test near-misses "
              f"served at it, by kind: {', '.join(per_kind)}."]  # fmt: skip
    return "\n".join(lines)


def speed() -> str:
    from qa_corpus import COLLECTION, ensure_corpus
    from quarry.settings import Settings

    settings = Settings(store={"path": HERE / "_work" / "qa" / "quarry.db"})
    quarry = ensure_corpus(settings)
    assert quarry.answer_cache is not None
    quarry.answer_cache.clear(COLLECTION)
    qa = load_qa_set(DEV, split="tune")
    questions = [item.question for item in qa.items[:30]]
    quarry.answerer.answer(questions[0], COLLECTION)
    quarry.answer_cache.clear(COLLECTION)
    cold: list[float] = []
    warm: list[float] = []
    refused: list[str] = []
    for question in questions:
        began = time.perf_counter()
        first = quarry.answerer.answer(question, COLLECTION)
        cold.append(time.perf_counter() - began)
        if first.refused:
            refused.append(question)
            continue
        began = time.perf_counter()
        again = quarry.answerer.answer(question, COLLECTION)
        warm.append(time.perf_counter() - began)
        assert again.cached, (question, again)
        assert again.text == first.text, (question, first, again)
    quarry.close()
    return (f"{len(questions)} tune questions, SmolLM2 on the dev store: answered p50 {statistics.median(cold):.2f} s, "
            f"from the cache p50 {statistics.median(warm) * 1000:.1f} ms, p95 "
            f"{sorted(warm)[int(0.95 * len(warm))] * 1000:.1f} ms (question embedding + lookup + guards). Refused by a "
            f"guard, so not cached: {len(refused)} {refused}.")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["pairs", "threshold", "speed"])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.what == "pairs":
        print(make_pairs())
        return
    body = threshold() if args.what == "threshold" else speed()
    body = f"`python bench/cache.py {args.what}` — {machine()}.\n\n{body}"
    print(body)
    if not args.no_write:
        title = "threshold on paraphrases and near-misses" if args.what == "threshold" else "latency of a hit"
        write_section(f"Answer cache: {title}", body)


if __name__ == "__main__":
    main()
