"""Agents over HTTP on a real system (SQLite store, MiniLM, the access-labelled handbook corpus): runs stream as
SSE and act with the calling key's principals; approvals are scoped and decided once; and a run paused for
approval survives a killed server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from quarry.api import create_app
from quarry.assembly import Quarry
from quarry.embeddings import Embedder
from quarry.ingest.sources import FolderSource
from quarry.settings import AgentSettings
from quarry.testing.chat import ScriptedChatModel
from tests.agents.conftest import answer, call
from tests.api.conftest import COLLECTION, LEAK_QUERY, SECRET, Api, make_settings, make_system, write_corpus


@pytest.fixture
def system(tmp_path: Path, minilm: Embedder, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Quarry, Api]]:
    monkeypatch.setenv("QUARRY_TEST_BOARD", str(tmp_path / "board.txt"))
    settings = make_settings(tmp_path)
    settings.agents = AgentSettings(collection=COLLECTION, builtin_tools=["search_knowledge_base", "calculator"],
                                    tools=["tests.agents.board:post_notice"])  # fmt: skip
    quarry = make_system(tmp_path, minilm, settings)
    assert quarry.ingestor.run(FolderSource(write_corpus(tmp_path / "corpus"), max_bytes=10**6), COLLECTION).ok
    app = create_app(quarry, settings)
    with TestClient(app) as client:
        yield quarry, Api(app, client)
    quarry.close()


def sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def script(quarry: Quarry, *steps: Any) -> ScriptedChatModel:
    model = ScriptedChatModel(steps)
    quarry.__dict__["chat_model"] = model
    quarry.__dict__.pop("_api_agent", None)
    return model


def test_a_run_streams_its_steps_and_searches_with_the_callers_principals(system: tuple[Quarry, Api]) -> None:
    quarry, api = system
    for principals, sees_secret in (((), False), (("group:hr",), True)):
        script(quarry, call("search_knowledge_base", query=LEAK_QUERY, k=3), answer("Here is what I found."))
        reply = api.client.post("/v1/agents/runs", json={"task": "What is the L5 salary band?"},
                                headers=api.headers("read", principals=principals))  # fmt: skip
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/event-stream")
        events = sse(reply.text)
        assert [name for name, _ in events] == ["run", "tool_call", "tool_result", "answer"]
        result = events[2][1]
        assert result["ok"] and (SECRET in result["text"]) is sees_secret
        assert events[-1][1]["text"] == "Here is what I found."


def test_runs_are_private_to_their_key(system: tuple[Quarry, Api]) -> None:
    quarry, api = system
    script(quarry, answer("Hello."))
    mine = api.headers("read")
    body = api.client.post("/v1/agents/runs", json={"task": "Say hello", "stream": False}, headers=mine).json()
    run_id = body["run_id"]
    assert body["final"]["type"] == "answer"
    shown = api.client.get(f"/v1/agents/runs/{run_id}", headers=mine).json()
    assert shown["status"] == "done" and shown["answer"] == "Hello."
    assert [m["role"] for m in shown["messages"]] == ["user", "assistant"]
    assert api.client.get(f"/v1/agents/runs/{run_id}", headers=api.headers("read")).status_code == 404
    assert api.client.get(f"/v1/agents/runs/{run_id}", headers=api.headers("admin")).status_code == 200


def wait_run(api: Api, run_id: str, headers: dict[str, str], timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = api.client.get(f"/v1/agents/runs/{run_id}", headers=headers).json()
        if run["status"] in ("done", "stopped", "failed"):
            return dict(run)
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish")


def test_approvals_are_scoped_by_principals_and_decided_once(system: tuple[Quarry, Api], tmp_path: Path) -> None:
    quarry, api = system
    script(quarry, call("post_notice", text="Salary review on Monday"), answer("Posted."))
    owner = api.headers("write", principals=("group:hr",))
    events = sse(api.client.post("/v1/agents/runs", json={"task": "Post the review date"}, headers=owner).text)
    assert events[-1][0] == "approval"
    approval_id, run_id = events[-1][1]["approval_id"], events[-1][1]["run_id"]
    assert not (tmp_path / "board.txt").exists()

    outsider = api.headers("write")
    assert api.client.get("/v1/approvals", headers=outsider).json()["approvals"] == []
    assert api.client.post(f"/v1/approvals/{approval_id}/approve", json={}, headers=outsider).status_code == 404
    hr_reader = api.headers("read", principals=("group:hr",))
    assert [a["id"] for a in api.client.get("/v1/approvals", headers=hr_reader).json()["approvals"]] == [approval_id]
    assert api.client.post(f"/v1/approvals/{approval_id}/approve", json={}, headers=hr_reader).status_code == 403

    hr_writer = api.headers("write", principals=("group:hr",))
    decided = api.client.post(f"/v1/approvals/{approval_id}/approve", headers=hr_writer,
                              json={"arguments": {"text": "Salary review on Tuesday"}, "note": "moved"})  # fmt: skip
    assert decided.status_code == 202 and decided.json()["approval"]["edited"] is True
    assert wait_run(api, run_id, owner)["answer"] == "Posted."
    assert (tmp_path / "board.txt").read_text() == "Salary review on Tuesday\n"
    again = api.client.post(f"/v1/approvals/{approval_id}/reject", json={}, headers=hr_writer)
    assert again.status_code == 409 and "already decided (approved)" in again.json()["error"]["message"]
    assert (tmp_path / "board.txt").read_text() == "Salary review on Tuesday\n"


def test_an_expired_approval_is_rejected_and_the_run_continues(system: tuple[Quarry, Api], tmp_path: Path) -> None:
    quarry, api = system
    quarry.settings.agents = quarry.settings.agents.model_copy(update={"approval_timeout_s": 0.01})
    model = script(quarry, call("post_notice", text="late"), answer("Nobody approved it, so I did not post."))
    owner = api.headers("write")
    run_id = sse(api.client.post("/v1/agents/runs", json={"task": "Post"}, headers=owner).text)[-1][1]["run_id"]
    time.sleep(0.05)
    assert api.client.get("/v1/approvals", headers=owner).json()["approvals"] == []  # the listing swept it
    run = wait_run(api, run_id, owner)
    assert run["answer"] == "Nobody approved it, so I did not post."
    assert model.calls[-1].messages[-1].content == "not run: the approval timed out (nobody decided in time)"
    assert not (tmp_path / "board.txt").exists()


def test_memory_is_listed_and_deleted_per_key(system: tuple[Quarry, Api]) -> None:
    quarry, api = system
    quarry.settings.agents = quarry.settings.agents.model_copy(update={"builtin_tools": ["remember"]})
    script(quarry, call("remember", fact="I manage the Porto team"), answer("Noted."))
    ann = api.key("read")
    headers = {"Authorization": f"Bearer {ann}"}
    api.client.post("/v1/agents/runs", json={"task": "Remember I manage Porto"}, headers=headers)
    facts = api.client.get("/v1/memory", headers=headers).json()["memory"]
    assert [f["text"] for f in facts] == ["I manage the Porto team"]
    assert api.client.get("/v1/memory", headers=api.headers("read")).json()["memory"] == []
    assert api.client.delete(f"/v1/memory/{facts[0]['id']}", headers=api.headers("read")).status_code == 404
    assert api.client.delete(f"/v1/memory/{facts[0]['id']}", headers=headers).status_code == 200
    assert api.client.get("/v1/memory", headers=headers).json()["memory"] == []
