"""``quarry tune advise`` over an answer-eval run, and feedback exported as DPO preference pairs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quarry.cli.app import app
from quarry.evaluation.answer_runner import run_answers
from quarry.evaluation.outcome import AnswerOutcome, Passage
from quarry.evaluation.qa import QAItem, QASet, load_qa_set
from quarry.evaluation.runs import save_run
from quarry.stores.ops import Feedback
from quarry.stores.sqlite import SQLiteTraceStore
from quarry.tracing import Tracer
from quarry.tuning.advise import advise
from quarry.tuning.preferences import preference_pairs

DEV = Path(__file__).resolve().parents[2] / "bench/qa/dev.jsonl"


def _system(plan: dict[str, str]) -> object:
    """Answers each dev-set question the way ``plan`` says its failure (or success) should look."""

    def answer(item: QAItem) -> AnswerOutcome:
        gold = Passage(
            item.gold_docs[0] if item.gold_docs else "x", item.gold_passages[0] if item.gold_passages else ""
        )
        other = Passage("elsewhere", "An unrelated passage about something else.")
        kind = plan[item.id]
        if kind == "correct":
            return AnswerOutcome(item.answers[0] if item.answers else "I don't know", abstained=not item.answerable,
                                 retrieved=(gold,), context=(gold,))  # fmt: skip
        if kind == "retrieval":
            return AnswerOutcome("Something wrong.", retrieved=(other,), context=(other,))
        if kind == "packing":
            return AnswerOutcome("Something wrong.", retrieved=(gold, other), context=(other,))
        if kind == "abstained":
            return AnswerOutcome("I don't know", abstained=True, retrieved=(gold,), context=(gold,))
        return AnswerOutcome("Something wrong.", retrieved=(gold,), context=(gold,))  # generation, over-answering

    return answer


def test_advice_names_the_largest_failure_bucket_with_its_figures(tmp_path: Path) -> None:
    items = load_qa_set(DEV, split="test").items
    answerable = [i for i in items if i.answerable][:20]
    unanswerable = [i for i in items if not i.answerable][:4]
    kinds = ["retrieval"] * 8 + ["generation"] * 4 + ["packing"] * 2 + ["abstained"] * 1 + ["correct"] * 5
    plan = {i.id: k for i, k in zip(answerable, kinds, strict=True)} | {i.id: "over" for i in unanswerable}
    run = run_answers(QASet("dev", tuple(answerable + unanswerable)), _system(plan), name="scripted")  # type: ignore[arg-type]
    advice = advise(run)
    assert [(f.lever, f.count) for f in advice.findings] == [
        ("retrieval", 8), ("generation", 4), ("over-answering", 4), ("packing", 2), ("abstained", 1),
    ]  # fmt: skip
    assert advice.first is not None and "quarry tune embeddings" in advice.first.advice
    assert advice.figures["context_recall_retrieved"] == pytest.approx(12 / 20)
    assert advice.figures["unanswerable_answered"] == 1.0 and advice.correct == pytest.approx(5 / 24)
    path = save_run(run, tmp_path / "runs")
    result = CliRunner().invoke(app, ["tune", "advise", str(path), "--json"], env={"QUARRY_HOME": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["findings"][0]["lever"] == "retrieval"


def test_feedback_becomes_preference_pairs(tmp_path: Path) -> None:
    traces = SQLiteTraceStore(tmp_path / "traces.db")
    tracer = Tracer([traces])
    ids = []
    for answer in ("The 1401 [1].", "It was a PDP-11 [1].", "An IBM 1401 [2]."):
        with tracer.trace("answer", "What computer did the author first use?", collection="docs") as trace:
            trace.root.attributes.update(answer=answer, cited=["essay.txt"])
            ids.append(trace.trace_id)
    with tracer.trace("answer", "Who funded Y Combinator?", collection="docs") as trace:
        trace.root.attributes.update(answer="Nobody [1].", cited=["essay.txt"])
        ids.append(trace.trace_id)

    def rated(i: int, rating: str | None, correction: str = "") -> Feedback:
        return Feedback(f"f{i}", ids[i], rating, None, "", correction, "key", (), float(i))  # type: ignore[arg-type]

    feedback = [rated(0, "up"), rated(1, "down"), rated(2, "up"), rated(3, "down", "Paul Graham and Jessica [1].")]
    pairs = preference_pairs(feedback, traces)
    triples = sorted((p.prompt, p.chosen, p.rejected) for p in pairs)
    assert triples == [
        ("What computer did the author first use?", "An IBM 1401 [2].", "It was a PDP-11 [1]."),
        ("What computer did the author first use?", "The 1401 [1].", "It was a PDP-11 [1]."),
        ("Who funded Y Combinator?", "Paul Graham and Jessica [1].", "Nobody [1]."),
    ]
    traces.close()


def test_a_validation_split_never_asks_a_question_training_saw() -> None:
    from quarry.tuning.pairs import TrainingPair, split_by_document

    documents = [f"doc-{i}" for i in range(40)]
    pairs = [TrainingPair(f"question {i // 2}", f"passage {d}", d) for i, d in enumerate(documents)]  # 2 docs each
    train, held = split_by_document(pairs, 0.5, seed=3)
    trained = {p.document for p in train}
    on_both_sides = {p.query for p in pairs if p.document in trained} & {
        p.query for p in pairs if p.document not in trained
    }
    assert on_both_sides and held  # the seed splits some questions' documents and holds some out whole
    assert not trained & {p.document for p in held}
    assert not on_both_sides & {p.query for p in held}
