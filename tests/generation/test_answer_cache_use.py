"""The semantic answer cache where it must not answer: in evaluation, and after Quarry is upgraded."""

from __future__ import annotations

import pytest

from quarry.assembly import Quarry
from quarry.assembly.evaluation import answer_target
from quarry.evaluation.qa import QAItem

QUESTION = "What overall accuracy does the inventory reconciliation report state?"


def test_evaluation_measures_the_pipeline_not_the_semantic_cache(report_system: Quarry) -> None:
    cache = report_system.answer_cache
    assert cache is not None
    served = report_system.answerer.answer(QUESTION, "r")
    again = report_system.answerer.answer(QUESTION, "r")
    assert not served.cached and again.cached  # the served path answers a repeat from the cache
    hits = cache.counts().hits
    target = answer_target(report_system.answerer, report_system.store, report_system.settings, "r", None)
    outcome = target(QAItem("q1", QUESTION, ("97.2%",)))
    assert cache.counts().hits == hits and outcome.seconds > again.seconds
    assert report_system.answerer.cache is cache  # the served answerer keeps its cache


def test_an_upgraded_quarry_does_not_serve_answers_an_older_version_cached(
    report_system: Quarry, monkeypatch: pytest.MonkeyPatch
) -> None:
    report_system.answerer.answer(QUESTION, "r")
    assert report_system.answerer.answer(QUESTION, "r").cached
    monkeypatch.setattr("quarry.generation.cached.__version__", "99.0.0")
    assert not report_system.answerer.answer(QUESTION, "r").cached
