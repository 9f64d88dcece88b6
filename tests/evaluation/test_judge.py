"""The LLM judge: its metrics, repeats with spread, and the calibration that decides whether it can be trusted.

A strong hosted judge cannot run here, so a scripted stand-in plays one: it marks a claim supported when every
number and name of it occurs in the context (what a careful judge does). A judge that answers the same whatever it
reads must be caught by the calibration; the real local model is run through the same code."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence

import pytest

from quarry.evaluation.judge import Judge, auc, calibrate, perturb
from quarry.evaluation.outcome import AnswerOutcome, Passage
from quarry.evaluation.qa import QAItem
from quarry.llm import ChatModel, LocalChatModel
from quarry.testing.chat import ScriptedChatModel
from quarry.types import Message

CASES = [
    ("Viaweb charged $100 a month for a small store.", "Viaweb charged $100 a month for a small store and $300 a "
     "month for a big one. This low price was a big attraction."),
    ("The language was an early version of Fortran on the IBM 1401.", "The language we used was an early version "
     "of Fortran. The IBM 1401 was in the basement of our junior high school, run by Rich Draves and me."),
    ("Yahoo bought Viaweb in the summer of 1998.", "So we didn't reach breakeven until about when Yahoo bought us in "
     "the summer of 1998. It was a huge relief when Yahoo bought Viaweb."),
    ("RISD accepted the author in 1990.", "RISD accepted me in 1990, and I never heard back from the Accademia, so "
     "off to Providence I went. Florence was far away."),
]  # fmt: skip


def _careful(messages: Sequence[Message]) -> str:
    user = messages[-1].content
    if "Answer to check:" in user:
        context = user.split("Answer to check:")[0]
        answer = user.split("Answer to check:\n")[1].split("\n\nSplit the answer")[0]
        claims = [c for c in re.split(r"(?<=[.!?])\s+", answer.strip()) if c]
        facts = [re.findall(r"\d[\d,.]*\d|\d|\b[A-Z][a-zA-Z]+\b", c) for c in claims]
        return json.dumps({"claims": [{"claim": c[:100], "supported": all(f.strip(".") in context for f in fs)}
                                      for c, fs in zip(claims, facts, strict=True)]})  # fmt: skip
    if "Score 1" in user:
        return '{"score": 5}'
    return '{"relevant": true}'


def careful_judge() -> ChatModel:
    return ScriptedChatModel(default=_careful, supports_json_schema=True)


def test_auc_and_perturbations() -> None:
    assert auc([1.0, 1.0], [0.0, 0.0]) == 1.0 and auc([0.5], [0.5]) == 0.5 and auc([0.0], [1.0]) == 0.0
    rng = random.Random(0)
    assert perturb("It cost $100 a month.", "number", outside="", rng=rng) == "It cost $203 a month."
    swapped = perturb("Yahoo bought Viaweb.", "name", outside="Later Google bought Twitch.", rng=rng)
    assert swapped is not None and "Viaweb" not in swapped
    assert perturb("A fact.", "outside", outside="An unrelated sentence. More.", rng=rng) == (
        "A fact. An unrelated sentence."
    )
    assert perturb("no numbers here", "number", outside="", rng=rng) is None


def test_a_careful_judge_separates_faithful_from_perturbed_answers() -> None:
    calibration = calibrate(Judge(careful_judge()), CASES)
    assert calibration.usable and calibration.auc > 0.9 and calibration.faithful == 4
    assert set(calibration.by_kind) == {"number", "name", "outside"} and calibration.perturbed >= 10


def test_a_judge_that_does_not_read_is_flagged_unusable() -> None:
    constant = ScriptedChatModel(default='{"claims": [{"claim": "x", "supported": true}]}', supports_json_schema=True)
    calibration = calibrate(Judge(constant), CASES)
    assert calibration.auc == 0.5 and not calibration.usable and calibration.as_dict()["usable"] is False


def test_judged_metrics_and_repeats_report_their_spread() -> None:
    item = QAItem("a", "What did Viaweb charge?", ("$100",))
    outcome = AnswerOutcome(CASES[0][0], context=(Passage("/essay", CASES[0][1]),))
    graded = Judge(careful_judge()).grade(item, outcome)
    assert graded == {"faithfulness": 1.0, "answer_relevance": 1.0, "context_precision": 1.0}
    wrong = AnswerOutcome("Viaweb charged $900 a month.", context=(Passage("/essay", CASES[0][1]),))
    assert Judge(careful_judge()).grade(item, wrong)["faithfulness"] == 0.0
    noisy = iter([1.0, 0.0, 1.0] * 3)
    flaky = ScriptedChatModel(
        default=lambda m: json.dumps({"claims": [{"claim": "c", "supported": next(noisy) == 1.0}]}),
        supports_json_schema=True,
    )
    repeated = Judge(flaky, repeats=3).faithfulness(CASES[0][0], CASES[0][1])
    assert repeated == (pytest.approx(2 / 3), 1.0)
    assert Judge(careful_judge()).grade(item, AnswerOutcome("I don't know", abstained=True)) == {}


@pytest.mark.slow
def test_the_local_model_runs_as_a_judge() -> None:
    model = LocalChatModel("smollm2", n_threads=1, n_ctx=2048)
    judge = Judge(model)
    score, spread = judge.faithfulness(CASES[0][0], CASES[0][1])
    assert score is None or 0.0 <= score <= 1.0
    assert spread is None and judge.calls >= 1
    model.close()
