"""Conformance suite for the agent-state protocols (:mod:`quarry.stores.agents`): runs, approvals and memory.
Subclass in an adapter's tests and override the ``runs`` and ``memory`` fixtures."""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import pytest

from quarry.stores.agents import AgentRun, Approval, MemoryItem, MemoryStore, RunStore

__all__ = ["AgentStateConformance"]


def _run(run_id: str, user: str = "key-ann") -> AgentRun:
    messages = ({"role": "user", "content": "How many invoices are overdue?"},)
    return AgentRun(run_id, "How many invoices are overdue?", user, ("group:finance", "public"), messages=messages)


def _approval(approval_id: str, run_id: str) -> Approval:
    arguments = json.dumps({"invoice": 42, "note": "overdue"})
    return Approval(approval_id, run_id, "call-1", "send_reminder", arguments, "external", "key-ann",
                    ("group:finance", "public"), context="looked up invoice 42")  # fmt: skip


def _status(runs: RunStore, run_id: str) -> str | None:
    found = runs.get(run_id)
    return None if found is None else found.status


class AgentStateConformance:
    @pytest.fixture
    def runs(self) -> RunStore:
        raise NotImplementedError("override the `runs` fixture")

    @pytest.fixture
    def memory(self) -> MemoryStore:
        raise NotImplementedError("override the `memory` fixture")

    def test_a_run_round_trips_and_saves_its_state(self, runs: RunStore) -> None:
        created = runs.create(_run("run-1"))
        assert created.created_at > 0
        assert runs.get("run-1") == created
        spent = {"steps": 2, "tokens": 310, "cost_usd": 0.0, "calls": {"sql_query": 1}}
        messages = (*created.messages, {"role": "assistant", "content": "3 invoices"})
        saved = runs.save(replace(created, status="done", answer="3 invoices", spent=spent, messages=messages))
        found = runs.get("run-1")
        assert found == saved
        assert found.spent["calls"] == {"sql_query": 1}
        assert len(found.messages) == 2
        assert runs.get("nope") is None

    def test_runs_are_listed_newest_first_by_user_and_status(self, runs: RunStore) -> None:
        for i, user in enumerate(["key-ann", "key-bob", "key-ann"]):
            runs.create(_run(f"run-{i}", user))
        runs.save(replace(runs.get("run-2") or _run("x"), status="done"))
        assert [r.id for r in runs.runs(user="key-ann")] == ["run-2", "run-0"]
        assert [r.id for r in runs.runs(status="done")] == ["run-2"]
        assert len(runs.runs(limit=2)) == 2

    def test_an_approval_is_decided_once_and_readies_its_run(self, runs: RunStore) -> None:
        run = runs.create(_run("run-1"))
        approval = runs.request(_approval("ap-1", "run-1"), run)
        assert approval.status == "pending"
        assert _status(runs, "run-1") == "waiting"
        assert runs.claim("run-1") is None  # not decided yet
        decided = runs.decide("ap-1", "approved", by="key-admin", note="ok")
        assert decided is not None
        assert decided.status == "approved"
        assert decided.decided_by == "key-admin"
        assert decided.decided_at is not None
        assert not decided.edited
        assert runs.decide("ap-1", "rejected", by="key-other") is None  # first decision stands
        assert runs.approval("ap-1") == decided
        assert _status(runs, "run-1") == "ready"

    def test_edited_arguments_replace_the_call(self, runs: RunStore) -> None:
        runs.request(_approval("ap-1", "run-1"), runs.create(_run("run-1")))
        edited = json.dumps({"invoice": 43, "note": "overdue"})
        decided = runs.decide("ap-1", "approved", by="key-admin", arguments=edited)
        assert decided is not None
        assert decided.arguments == edited
        assert decided.edited

    def test_a_ready_run_is_claimed_by_one_caller_only(self, runs: RunStore) -> None:
        runs.request(_approval("ap-1", "run-1"), runs.create(_run("run-1")))
        runs.decide("ap-1", "approved", by="key-admin")
        winners: list[AgentRun] = []
        lock = threading.Lock()

        def claim() -> None:
            found = runs.claim("run-1")
            if found is not None:
                with lock:
                    winners.append(found)

        threads = [threading.Thread(target=claim) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(winners) == 1
        assert winners[0].status == "running"
        assert runs.claim("run-1") is None

    def test_approvals_are_listed_by_status_and_run(self, runs: RunStore) -> None:
        runs.request(_approval("ap-1", "run-1"), runs.create(_run("run-1")))
        runs.request(_approval("ap-2", "run-2"), runs.create(_run("run-2")))
        runs.decide("ap-1", "rejected", by="key-admin", note="not now")
        assert [a.id for a in runs.approvals(status="pending")] == ["ap-2"]
        assert [a.id for a in runs.approvals(run_id="run-1")] == ["ap-1"]
        assert [a.id for a in runs.approvals()] == ["ap-1", "ap-2"]
        pending = runs.approvals(status="pending")[0]
        assert pending.principals == ("group:finance", "public")
        assert pending.context == "looked up invoice 42"

    def test_an_escalation_is_sent_once_and_clears_the_timeout(self, runs: RunStore) -> None:
        runs.request(replace(_approval("ap-1", "run-1"), expires_at=1.0), runs.create(_run("run-1")))
        assert runs.escalate("ap-1", "sent to the webhook")
        assert not runs.escalate("ap-1", "again")
        found = runs.approval("ap-1")
        assert found is not None
        assert found.expires_at is None
        assert found.status == "pending"
        assert found.note == "sent to the webhook"

    def test_memory_is_searched_per_user_and_model(self, memory: MemoryStore) -> None:
        memory.add(MemoryItem("m-1", "ann", "Ann's team is finance", "minilm"), [1.0, 0.0, 0.0])
        memory.add(MemoryItem("m-2", "ann", "Ann prefers euros", "minilm"), [0.6, 0.8, 0.0])
        memory.add(MemoryItem("m-3", "bob", "Bob is in sales", "minilm"), [1.0, 0.0, 0.0])
        memory.add(MemoryItem("m-4", "ann", "other model", "other"), [1.0, 0.0, 0.0])
        found = memory.search("ann", [1.0, 0.1, 0.0], model="minilm", k=5)
        assert [item.id for item, _ in found] == ["m-1", "m-2"]
        assert found[0][1] == pytest.approx(0.995, abs=1e-3)
        assert found[0][1] > found[1][1]
        assert memory.search("carl", [1.0, 0.0, 0.0], model="minilm") == []
        assert memory.search("ann", [1.0, 0.0, 0.0], model="minilm", k=1)[0][0].text == "Ann's team is finance"

    def test_memory_is_listed_and_forgotten_by_its_owner_only(self, memory: MemoryStore) -> None:
        memory.add(MemoryItem("m-1", "ann", "first", "minilm", run_id="run-1"), [1.0, 0.0])
        memory.add(MemoryItem("m-2", "ann", "second", "minilm"), [0.0, 1.0])
        memory.add(MemoryItem("m-3", "bob", "bob's", "minilm"), [0.0, 1.0])
        assert [m.id for m in memory.items("ann")] == ["m-2", "m-1"]
        assert memory.items("ann")[1].run_id == "run-1"
        assert memory.forget("bob", "m-1") == 0  # not bob's
        assert memory.forget("ann", "m-1") == 1
        assert [m.id for m in memory.items("ann")] == ["m-2"]
        assert memory.forget("ann") == 1
        assert memory.items("ann") == []
        assert [m.id for m in memory.items("bob")] == ["m-3"]
