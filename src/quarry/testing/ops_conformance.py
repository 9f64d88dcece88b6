"""Conformance suites for the operations-state protocols (:mod:`quarry.stores.ops`): prompt versions and labels,
experiments, feedback. Subclass in an adapter's tests and override the fixtures::

    class TestMyOps(OpsConformance):
        @pytest.fixture
        def prompts(self, tmp_path: Path) -> Iterator[PromptStore]: ...
        # likewise ``experiments`` and ``feedback``
"""

from __future__ import annotations

import time

import pytest

from quarry.errors import StoreError
from quarry.stores.ops import (
    Experiment,
    ExperimentStore,
    Feedback,
    FeedbackStore,
    PromptStore,
    StoredPrompt,
    Variant,
)

__all__ = ["OpsConformance"]


def _prompt(name: str, user: str) -> StoredPrompt:
    return StoredPrompt(name, 0, "You answer.", user, {"question": "str"}, stop=("\n\n",), created_by="ann")


def _experiment(name: str, prompt: str = "answer") -> Experiment:
    variants = (Variant("control", f"{prompt}@1", 0.5), Variant("short", f"{prompt}@2", 0.5, {"k": 3}))
    return Experiment(name, prompt, variants, min_requests=40, collections=("docs",))


class OpsConformance:
    @pytest.fixture
    def prompts(self) -> PromptStore:
        raise NotImplementedError("override the `prompts` fixture")

    @pytest.fixture
    def experiments(self) -> ExperimentStore:
        raise NotImplementedError("override the `experiments` fixture")

    @pytest.fixture
    def feedback(self) -> FeedbackStore:
        raise NotImplementedError("override the `feedback` fixture")

    def test_prompt_versions_are_numbered_above_the_floor_and_round_trip(self, prompts: PromptStore) -> None:
        first = prompts.add(_prompt("answer", "Q: {question}"), floor=2)
        second = prompts.add(_prompt("answer", "Question: {question}"))
        other = prompts.add(_prompt("summary", "{question}"))
        assert (first.version, second.version, other.version) == (3, 4, 1)
        assert prompts.get("answer", 3) == first
        assert prompts.get("answer", 9) is None
        assert [(p.name, p.version) for p in prompts.versions()] == [("answer", 3), ("answer", 4), ("summary", 1)]
        assert [p.user for p in prompts.versions("answer")] == ["Q: {question}", "Question: {question}"]
        assert second.stop == ("\n\n",)
        assert second.variables == {"question": "str"}
        assert second.created_by == "ann"

    def test_labels_move_and_keep_their_history(self, prompts: PromptStore) -> None:
        assert prompts.labels("answer") == {}
        assert prompts.history("answer", "production") == []
        prompts.move_label("answer", "production", 1, by="ann")
        prompts.move_label("answer", "staging", 2)
        back = prompts.move_label("answer", "production", 2, by="bob", note="better")
        assert (back.previous, back.version, back.by, back.note) == (1, 2, "bob", "better")
        rollback = prompts.move_label("answer", "production", 1, note="rollback")
        assert prompts.labels("answer") == {"production": 1, "staging": 2}
        assert [m.version for m in prompts.history("answer", "production")] == [1, 2, 1]
        assert prompts.history("answer", "production")[0] == rollback

    def test_experiments_one_running_per_prompt_and_ending_is_final(self, experiments: ExperimentStore) -> None:
        created = experiments.create(_experiment("ab-1"))
        assert created.status == "running"
        assert created.created_at > 0
        assert created.variants[1].settings == {"k": 3}
        assert created.collections == ("docs",)
        with pytest.raises(StoreError, match="already runs"):
            experiments.create(_experiment("ab-2"))
        with pytest.raises(StoreError, match="exists"):
            experiments.create(_experiment("ab-1", prompt="summary"))
        assert experiments.running("answer") == created
        assert experiments.running("summary") is None
        ended = experiments.end("ab-1", "rolled_back", "errors rose")
        assert (ended.status, ended.reason) == ("rolled_back", "errors rose")
        assert ended.ended_at is not None
        assert experiments.end("ab-1", "stopped", "again").reason == "errors rose"
        assert experiments.running("answer") is None
        experiments.create(_experiment("ab-2"))
        assert [e.name for e in experiments.list()] == ["ab-2", "ab-1"]
        with pytest.raises(StoreError):
            experiments.end("nope", "stopped", "")

    def test_feedback_by_trace_and_newest_first(self, feedback: FeedbackStore) -> None:
        now = time.time()
        items = [
            Feedback("f1", "t1", "up", None, "", "", "k1", ("group:hr",), now),
            Feedback("f2", "t2", "down", 0.2, "wrong year", "2021", "k2", (), now + 1),
            Feedback("f3", "t1", None, 1.0, "", "", "k1", ("public", "user:ann"), now + 2),
        ]
        for item in items:
            assert feedback.add(item) == item
        found = feedback.for_traces(["t1", "t9", "t1"])
        assert list(found) == ["t1"]
        assert found["t1"] == [items[0], items[2]]
        assert feedback.recent(2) == [items[2], items[1]]
