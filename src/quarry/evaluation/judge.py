"""Judged answer metrics: any :class:`~quarry.llm.ChatModel` grades answers, and is itself checked first.

Metrics (each in 0..1):

- ``faithfulness``: the judge splits the answer into claims and marks each supported or not by the context
  the model read; the share supported (RAGAS-style).
- ``answer_relevance``: the judge rates 1–5 how directly the answer addresses the question; mapped to 0..1.
- ``context_precision``: the judge marks each passage the model read relevant or not; the average precision
  of that ranking (relevant passages early score higher).

Variance: the judge's prompts are versioned (``JUDGE_PROMPTS``, recorded in every run). With ``repeats`` > 1
each judgement is made that many times at temperature ``REPEAT_TEMPERATURE`` and the mean is reported with
the spread (``*_spread``: max − min over the repeats).

Calibration (:func:`calibrate`): before its scores are trusted, the judge grades faithful answers and
perturbed copies of them — a number changed, a name swapped, a sentence from another question's context
appended. The AUC of faithful over perturbed (0.5 = chance) says whether it can tell them apart; below
``MIN_AUC`` the judge is reported as unusable and its metrics are flagged, not trusted.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from quarry.errors import QuarryError
from quarry.evaluation.outcome import AnswerOutcome
from quarry.evaluation.qa import QAItem
from quarry.llm import ChatModel, ChatSettings, complete_structured
from quarry.types import Message

__all__ = ["JUDGE_PROMPTS", "MIN_AUC", "Calibration", "Judge", "auc", "calibrate", "perturb"]

MIN_AUC = 0.7
REPEAT_TEMPERATURE = 0.7
_MAX_CONTEXT_CHARS = 3000

JUDGE_PROMPTS: dict[str, dict[str, str]] = {
    "faithfulness@1": {
        "system": "You check whether statements are supported by a context. Be strict: a statement is supported "
        "only if the context states it; numbers and names must match exactly.",
        "user": "Context:\n{context}\n\nAnswer to check:\n{answer}\n\nSplit the answer into short factual claims "
        "(at most 6) and say for each whether the context supports it.",
    },
    "relevance@1": {
        "system": "You grade how well an answer addresses a question, ignoring whether it is true.",
        "user": "Question: {question}\nAnswer: {answer}\n\nScore 1 (does not address the question) to 5 (directly "
        "and completely answers it).",
    },
    "context_relevance@1": {
        "system": "You decide whether a passage contains information that answers a question.",
        "user": "Question: {question}\nPassage:\n{context}\n\nDoes the passage contain information that answers "
        "the question?",
    },
}

_CLAIMS = {
    "type": "object",
    "properties": {
        "claims": {
            "type": "array",
            "maxItems": 6,
            "items": {
                "type": "object",
                "properties": {"claim": {"type": "string", "maxLength": 200}, "supported": {"type": "boolean"}},
                "required": ["claim", "supported"],
            },
        }
    },
    "required": ["claims"],
}
_SCORE = {
    "type": "object",
    "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5}},
    "required": ["score"],
}
_YES_NO = {"type": "object", "properties": {"relevant": {"type": "boolean"}}, "required": ["relevant"]}


def _messages(ref: str, **values: str) -> list[Message]:
    prompt = JUDGE_PROMPTS[ref]
    user = prompt["user"]
    for key, value in values.items():
        user = user.replace("{" + key + "}", value)
    return [Message("system", prompt["system"]), Message("user", user)]


@dataclass
class Judge:
    """Grades answers with ``model``; ``repeats`` judgements per metric (see the module docstring)."""

    model: ChatModel
    repeats: int = 1
    calls: int = field(default=0, init=False)

    @property
    def description(self) -> dict[str, Any]:
        return {"model": self.model.model_id, "prompts": sorted(JUDGE_PROMPTS), "repeats": self.repeats}

    def _ask(self, messages: list[Message], schema: dict[str, Any], attempt: int) -> dict[str, Any]:
        temperature = 0.0 if self.repeats == 1 else REPEAT_TEMPERATURE
        settings = ChatSettings(temperature=temperature, max_tokens=400, seed=attempt)
        self.calls += 1
        return complete_structured(self.model, messages, schema, settings=settings)

    def _repeat(self, score: Callable[[int], float | None]) -> tuple[float | None, float | None]:
        values = []
        for attempt in range(self.repeats):
            try:
                value = score(attempt)
            except QuarryError:  # a judge that cannot produce valid output gives no score
                value = None
            if value is not None:
                values.append(value)
        if not values:
            return None, None
        return sum(values) / len(values), (max(values) - min(values)) if len(values) > 1 else None

    def faithfulness(self, answer: str, context: str) -> tuple[float | None, float | None]:
        messages = _messages("faithfulness@1", answer=answer, context=context[:_MAX_CONTEXT_CHARS])

        def score(attempt: int) -> float | None:
            claims = self._ask(messages, _CLAIMS, attempt)["claims"]
            return sum(bool(c["supported"]) for c in claims) / len(claims) if claims else None

        return self._repeat(score)

    def relevance(self, question: str, answer: str) -> tuple[float | None, float | None]:
        messages = _messages("relevance@1", question=question, answer=answer)
        return self._repeat(lambda attempt: (int(self._ask(messages, _SCORE, attempt)["score"]) - 1) / 4)

    def context_precision(self, question: str, contexts: Sequence[str]) -> tuple[float | None, float | None]:
        def score(attempt: int) -> float | None:
            marks = [
                bool(
                    self._ask(
                        _messages("context_relevance@1", question=question, context=c[:_MAX_CONTEXT_CHARS]),
                        _YES_NO,
                        attempt,
                    )["relevant"]
                )
                for c in contexts
            ]
            hits, total = 0, 0.0
            for rank, relevant in enumerate(marks, 1):
                if relevant:
                    hits += 1
                    total += hits / rank
            return total / hits if hits else 0.0

        return self._repeat(score) if contexts else (None, None)

    def grade(self, item: QAItem, outcome: AnswerOutcome) -> dict[str, float | None]:
        """The judged metrics of one answer (abstentions are not graded)."""
        if outcome.abstained or not outcome.text.strip():
            return {}
        context = "\n\n".join(p.text for p in outcome.context)
        found: dict[str, float | None] = {}
        for name, (value, spread) in (
            ("faithfulness", self.faithfulness(outcome.text, context)),
            ("answer_relevance", self.relevance(item.question, outcome.text)),
            ("context_precision", self.context_precision(item.question, [p.text for p in outcome.context])),
        ):
            found[name] = value
            if self.repeats > 1:
                found[f"{name}_spread"] = spread
        return found


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*\b")


def perturb(answer: str, kind: str, *, outside: str, rng: random.Random) -> str | None:
    """``answer`` made unfaithful: ``number`` changes its first number, ``name`` swaps its last capitalised
    name for one from ``outside``, ``outside`` appends the first sentence of ``outside``. None when the answer
    has nothing to change."""
    if kind == "number":
        match = _NUMBER.search(answer)
        if match is None:
            return None
        digits = match.group().replace(",", "")
        changed = str(int(float(digits)) * 2 + 3) if digits.replace(".", "").isdigit() else "7"
        return answer[: match.start()] + changed + answer[match.end() :]
    if kind == "name":
        names = [m for m in _NAME.finditer(answer) if m.start() > 0]
        others: list[str] = [n for n in _NAME.findall(outside) if n not in answer]
        if not names or not others:
            return None
        target = names[-1]
        swapped: str = rng.choice(others)
        return answer[: target.start()] + swapped + answer[target.end() :]
    sentence = re.split(r"(?<=[.!?])\s+", outside.strip())[0]
    return f"{answer.rstrip()} {sentence}" if sentence and sentence not in answer else None


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """The probability that a random positive scores above a random negative (ties count half)."""
    if not positives or not negatives:
        return float("nan")
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


@dataclass(frozen=True, slots=True)
class Calibration:
    auc: float
    faithful: int
    perturbed: int
    by_kind: dict[str, float]

    @property
    def usable(self) -> bool:
        return self.auc == self.auc and self.auc >= MIN_AUC

    def as_dict(self) -> dict[str, Any]:
        return {
            "auc": self.auc,
            "faithful": self.faithful,
            "perturbed": self.perturbed,
            "by_kind": self.by_kind,
            "usable": self.usable,
            "min_auc": MIN_AUC,
        }


def calibrate(judge: Judge, cases: Sequence[tuple[str, str]], *, seed: int = 0) -> Calibration:
    """Grade each faithful ``(answer, context)`` case and its perturbations (number, name, outside sentence,
    the outside text taken from another case's context); the AUC of faithful over perturbed scores."""
    rng = random.Random(seed)
    faithful: list[float] = []
    perturbed: dict[str, list[float]] = {"number": [], "name": [], "outside": []}
    for index, (answer, context) in enumerate(cases):
        score, _ = judge.faithfulness(answer, context)
        if score is None:
            continue
        faithful.append(score)
        outside = cases[(index + 1) % len(cases)][1] if len(cases) > 1 else ""
        for kind, scores in perturbed.items():
            changed = perturb(answer, kind, outside=outside, rng=rng)
            value = judge.faithfulness(changed, context)[0] if changed else None
            if value is not None:
                scores.append(value)
    every = [s for scores in perturbed.values() for s in scores]
    by_kind = {kind: auc(faithful, scores) for kind, scores in perturbed.items() if scores}
    return Calibration(auc(faithful, every), len(faithful), len(every), by_kind)
