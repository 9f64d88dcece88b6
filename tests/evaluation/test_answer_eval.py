"""Answer evaluation: the QA loader, metrics equal to hand-computed values, the runner's cache, paired comparisons,
gates, stored runs and reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quarry.errors import ConfigError
from quarry.evaluation.answer_metrics import contains_answer, item_metrics, normalise_answer, token_f1
from quarry.evaluation.answer_report import html_report, markdown_report
from quarry.evaluation.answer_runner import AnswerCache, compare_runs, failed_gates, parse_gate, run_answers
from quarry.evaluation.datasets import DatasetError
from quarry.evaluation.outcome import AnswerOutcome, CitedSpan, Passage
from quarry.evaluation.qa import QAItem, QASet, load_qa_set, matches_gold
from quarry.evaluation.runs import list_runs, load_run, save_run

ESSAY = "/data/paul_graham_essay.txt"
LINES = [
    {"id": "a", "question": "Which language did the author use on the 1401?", "answers": ["Fortran"],
     "gold_docs": ["paul_graham_essay.txt"], "gold_passages": ["The language we used was an early version of Fortran."],
     "split": "test"},
    {"id": "b", "question": "How much did Julian invest?", "answers": ["$10,000"], "gold_docs": ["essay#7"],
     "split": "test"},
    {"id": "c", "question": "How much did Yahoo pay?", "answerable": False, "split": "test"},
    {"id": "d", "question": "What did he study?", "answer": "philosophy", "split": "tune", "topic": "college"},
]  # fmt: skip
FORTRAN = "The language we used was an early version of Fortran."


def qa_file(tmp_path: Path) -> Path:
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in LINES), encoding="utf-8")
    return path


def outcomes() -> dict[str, AnswerOutcome]:
    return {
        # right, cited to the gold document, its gold sentence split across two touching chunks
        "a": AnswerOutcome(
            "They used an early version of Fortran [1].",
            supported=True,
            citations=(CitedSpan(ESSAY, FORTRAN, 100, 154, True, False, True),),
            retrieved=(Passage(ESSAY, "The language we used", 100, 120), Passage(ESSAY, " was an early version of "
                       "Fortran.", 120, 154), Passage("/other.txt", "unrelated", 0, 9)),
            context=(Passage(ESSAY, "The language we used", 100, 120),),
        ),
        # wrong figure, flagged supported: a disagreement; cites one gold and one other document
        "b": AnswerOutcome(
            "Julian invested $20,000 [1][2].",
            supported=True,
            truncated=True,
            citations=(CitedSpan("/x/essay#7", "seed funding", valid=True), CitedSpan("/x/other#8", "q", valid=False)),
        ),
        "c": AnswerOutcome("I don't know.", abstained=True),
        "d": AnswerOutcome("I don't know.", abstained=True),
    }  # fmt: skip


def test_the_loader_reads_answers_splits_and_extras_and_names_bad_lines(tmp_path: Path) -> None:
    qa = load_qa_set(qa_file(tmp_path))
    assert [i.id for i in qa.items] == ["a", "b", "c", "d"] and qa.answerable == 3
    d = qa.items[3]
    assert d.answers == ("philosophy",) and d.split == "tune" and d.metadata == {"topic": "college"}
    assert not qa.items[2].answerable and qa.items[2].answers == ()
    test = load_qa_set(qa_file(tmp_path), split="test")
    assert [i.id for i in test.items] == ["a", "b", "c"] and test.name == "qa:test"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "question": "q?", "answers": ["y"]}\n{"id": "z", "question": "w?"}\n')
    with pytest.raises(DatasetError, match=r"bad.jsonl:2: an answerable question needs reference answers"):
        load_qa_set(bad)
    with pytest.raises(DatasetError, match="no question has split 'dev'"):
        load_qa_set(qa_file(tmp_path), split="dev")


def test_normalisation_containment_and_f1_by_hand() -> None:
    assert normalise_answer("The $12,553-unit total, 97.2%!") == "12553 unit total 97.2"
    assert contains_answer("a 52-year-old individual", ["52"]) and not contains_answer("130 stores", ["13"])
    assert contains_answer("TRS-80 in 1980", ["trs 80"])
    # "early version of fortran" vs "fortran": precision 1/4, recall 1 -> F1 = 2*(.25*1)/(1.25) = 0.4
    assert token_f1("early version of Fortran", ["Fortran"]) == pytest.approx(0.4)
    assert token_f1("nothing here", ["Fortran"]) == 0.0
    assert matches_gold("/data/x/paul_graham_essay.txt", "paul_graham_essay.txt")
    assert matches_gold("/c/corpus.jsonl#4983", "4983") and not matches_gold("/c/corpus.jsonl#49830", "4983")


def test_item_metrics_equal_hand_computed_values(tmp_path: Path) -> None:
    qa = load_qa_set(qa_file(tmp_path))
    got = {i.id: item_metrics(i, outcomes()[i.id]) for i in qa.items}
    a, b, c, d = got["a"], got["b"], got["c"], got["d"]
    # a: right, precise citation, gold sentence only in the retrieved chunks joined, not in the packed context
    assert a["correct"] == 1 and a["contains"] == 1 and a["citation_precision"] == 1 and a["citation_recall"] == 1
    assert a["quote_has_answer"] == 1 and a["quote_valid"] == 1
    assert a["context_recall_retrieved"] == 1 and a["context_recall_packed"] == 0
    assert a["supported_agreement"] == 1 and a["supported_precision"] == 1 and a["supported_recall"] == 1
    # b: wrong figure flagged supported; cites gold + non-gold; one of its two quotes is not the real span
    assert b["correct"] == 0 and b["supported_agreement"] == 0 and b["supported_precision"] == 0
    assert b["supported_recall"] is None and b["citation_precision"] == 0.5 and b["citation_recall"] == 1
    assert b["quote_valid"] == 0.5 and b["truncated"] == 1 and b["context_recall_packed"] is None
    # c: unanswerable and abstained -> correct; d: answerable and abstained -> a false abstention
    assert c["correct"] == 1 and c["abstained_unanswerable"] == 1 and c["contains"] is None
    assert d["correct"] == 0 and d["abstained_answerable"] == 1 and d["token_f1"] == 0.0
    assert d["supported"] is None and d["truncated"] is None


def test_the_runner_summarises_caches_and_compares(tmp_path: Path) -> None:
    qa = load_qa_set(qa_file(tmp_path))
    calls: list[str] = []

    def system(item: QAItem) -> AnswerOutcome:
        calls.append(item.id)
        return outcomes()[item.id]

    cache = AnswerCache(tmp_path / "cache.db")
    first = run_answers(qa, system, name="first", config_key="k1", cache=cache)
    assert calls == ["a", "b", "c", "d"] and first.cached == 0
    assert first.summary["correct"].mean == pytest.approx(0.5)  # a and c of four
    assert first.summary["abstained_answerable"].mean == pytest.approx(1 / 3)
    again = run_answers(qa, system, name="again", config_key="k1", cache=cache)
    assert calls == ["a", "b", "c", "d"] and again.cached == 4 and again.scores("correct") == first.scores("correct")
    run_answers(qa, system, name="changed", config_key="k2", cache=cache)
    assert len(calls) == 8  # another configuration is answered afresh

    def better(item: QAItem) -> AnswerOutcome:
        return AnswerOutcome("Julian invested $10,000 [1].") if item.id == "b" else outcomes()[item.id]

    second = run_answers(qa, better, name="second")
    (diff,) = compare_runs(first, second, ["correct"])
    assert diff.difference.mean == pytest.approx(0.25) and diff.test.n == 4 and 0 < diff.p_value <= 1
    other = run_answers(QASet("other", qa.items[:2]), system, name="other")
    with pytest.raises(ConfigError, match="different questions"):
        compare_runs(first, other, ["correct"])


def test_gates_fail_when_they_should(tmp_path: Path) -> None:
    run = run_answers(load_qa_set(qa_file(tmp_path)), lambda item: outcomes()[item.id], name="r")
    assert parse_gate("correct=0.6") == ("correct", 0.6)
    with pytest.raises(ConfigError, match="metric=value"):
        parse_gate("correct>0.6")
    assert failed_gates(run, [("correct", 0.5)]) == []
    assert failed_gates(run, [("correct", 0.6)]) == ["correct: 0.500 < 0.6"]
    assert "not measured" in failed_gates(run, [("faithfulness", 0.1)])[0]


def test_runs_are_stored_listed_and_reloaded_for_comparison(tmp_path: Path) -> None:
    qa = load_qa_set(qa_file(tmp_path))
    run = run_answers(qa, lambda item: outcomes()[item.id], name="stored", config={"model": "m"})
    path = save_run(run, tmp_path / "evals")
    (info,) = list_runs(tmp_path / "evals")
    assert info.run_id == path.stem and info.correct == pytest.approx(0.5) and info.questions == 4
    again = load_run(path.stem[:10], tmp_path / "evals")
    assert again.scores("correct") == run.scores("correct") and again.fingerprint == run.fingerprint
    assert again.summary["token_f1"].mean == pytest.approx(run.summary["token_f1"].mean)
    with pytest.raises(ConfigError, match="no evaluation run"):
        load_run("nope", tmp_path / "evals")


def test_reports_show_metrics_worst_questions_and_need_nothing_from_the_network(tmp_path: Path) -> None:
    qa = load_qa_set(qa_file(tmp_path))
    run = run_answers(qa, lambda item: outcomes()[item.id], name="report", config={"model": "m"})
    text = markdown_report(run)
    assert "| correct | 0.500 [" in text and "`b` How much did Julian invest?" in text
    page = html_report(run, compare_runs(run, run, ["correct"]), run)
    assert page.startswith("<!doctype html>") and "<svg" in page and "http" not in page.lower().replace("https", "")
    assert "What the model read" in page and "Julian invested $20,000" in page
