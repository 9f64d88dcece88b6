"""Agents on real parts: the SQLite run and memory stores, real tools, the real tracer — and a scripted chat
model (what it says is the test's input), or the packaged local model where a test says so."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from quarry.agents import Agent, AgentEvent, Tool
from quarry.llm import Completion
from quarry.settings import AgentSettings
from quarry.stores.agents import AgentRun
from quarry.stores.sqlite.agents import SQLiteMemoryStore, SQLiteRunStore
from quarry.stores.sqlite.trace_store import SQLiteTraceStore
from quarry.testing.chat import ScriptedChatModel, ScriptStep
from quarry.tracing import Tracer
from quarry.types import ToolCall, Usage


def call(name: str, /, **arguments: Any) -> Completion:
    """A model turn that calls ``name`` with ``arguments``."""
    return calls((name, arguments))


def calls(*requested: tuple[str, Any], text: str = "") -> Completion:
    made = tuple(ToolCall(f"call_{uuid.uuid4().hex[:8]}", n, a if isinstance(a, str) else json.dumps(a))
                 for n, a in requested)  # fmt: skip
    return Completion(text, made, Usage(50, 10), "scripted", "tool_calls")


def answer(text: str) -> Completion:
    return Completion(text, (), Usage(60, 12), "scripted", "stop")


class Harness:
    def __init__(self, root: Path) -> None:
        self.runs = SQLiteRunStore(root / "store.agents.db")
        self.memory = SQLiteMemoryStore(root / "store.agents.db")
        self.traces = SQLiteTraceStore(root / "store.traces.db")
        self.tracer = Tracer([self.traces])

    def agent(self, script: Sequence[ScriptStep], tools: Sequence[Tool], **settings: Any) -> Agent:
        model = ScriptedChatModel(script)
        return Agent(model, tools, self.runs, settings=AgentSettings(**settings), tracer=self.tracer,
                     visibility=lambda run: None)  # fmt: skip

    def close(self) -> None:
        for store in (self.runs, self.memory, self.traces):
            store.close()


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    made = Harness(tmp_path)
    yield made
    made.close()


def run(events: Iterator[AgentEvent]) -> list[AgentEvent]:
    return list(events)


def start(agent: Agent, task: str, user: str = "key-ann") -> list[AgentEvent]:
    return list(agent.start(task, user=user, principals=("group:finance",)))


def stored(harness: Harness, run_id: str) -> AgentRun:
    found = harness.runs.get(run_id)
    assert found is not None
    return found
