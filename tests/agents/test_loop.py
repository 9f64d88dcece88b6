"""The loop on the real SQLite run store and tracer: tool calls, corrections, limits, approvals, memory."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from quarry.agents import (
    Answered,
    ApprovalRequested,
    Failed,
    Memory,
    RunStarted,
    Stopped,
    Thought,
    ToolCalled,
    ToolContext,
    ToolResult,
    tool,
)
from quarry.agents.builtin import calculator
from quarry.agents.history import SUMMARY_PREFIX, fit
from quarry.errors import ConfigError
from quarry.testing.chat import ScriptedChatModel
from quarry.tracing import Tracer
from quarry.types import Message
from tests.agents.conftest import Harness, answer, call, calls, start, stored


def test_a_tool_call_then_an_answer(harness: Harness) -> None:
    agent = harness.agent([calls(("calculator", {"expression": "1250 * 0.2"}), text="I will compute it."),
                           answer("20% of 1250 is 250.")], [calculator])  # fmt: skip
    events = start(agent, "What is 20% of 1250?")
    kinds = [type(e) for e in events]
    assert kinds == [RunStarted, Thought, ToolCalled, ToolResult, Answered]
    result = events[3]
    assert isinstance(result, ToolResult) and result.ok and result.text == "250"
    done = events[-1]
    assert isinstance(done, Answered) and done.text == "20% of 1250 is 250."
    assert done.spent["steps"] == 2 and done.spent["tokens"] == 132 and done.spent["calls"] == {"calculator": 1}
    run = stored(harness, done.run_id)
    assert run.status == "done" and run.answer == "20% of 1250 is 250."
    assert [m["role"] for m in run.messages] == ["system", "user", "assistant", "tool", "assistant"]
    trace = harness.traces.trace(harness.traces.traces(limit=1, kind="agent")[0].trace_id)
    assert trace is not None and trace.status == "ok"
    names = {s["name"] for s in trace.spans}
    tool_span = next(s for s in trace.spans if s["name"] == "step 1.tool calculator")
    assert tool_span["attributes"]["arguments"] == '{"expression": "1250 * 0.2"}'  # type: ignore[index]
    assert tool_span["attributes"]["result_chars"] == 3  # type: ignore[index]
    assert {"agent.run", "step 1.llm", "step 1.tool calculator", "step 2.llm"} <= names


def test_a_validation_error_goes_back_to_the_model_which_corrects_it(harness: Harness) -> None:
    model_saw: list[str] = []

    def corrected(messages: list[Message]) -> Any:
        model_saw.append(messages[-1].content)
        return call("calculator", expression="6 * 7")

    agent = harness.agent([call("calculator", expr="6 * 7"), corrected, answer("42")], [calculator])
    events = start(agent, "six times seven?")
    failed = next(e for e in events if isinstance(e, ToolResult))
    assert not failed.ok
    error = json.loads(model_saw[0])
    assert error["error"] == "invalid_arguments" and error["problems"][0]["where"] == "expression"
    assert [e.text for e in events if isinstance(e, ToolResult)][-1] == "42"
    assert isinstance(events[-1], Answered)


def test_arguments_that_never_validate_stop_the_run(harness: Harness) -> None:
    agent = harness.agent([call("calculator", expr=str(i)) for i in range(5)], [calculator], max_invalid_arguments=1)
    events = start(agent, "?")
    assert isinstance(events[-1], Stopped) and events[-1].kind == "invalid_arguments"


def test_the_same_call_repeated_is_a_loop_and_stops(harness: Harness) -> None:
    agent = harness.agent([call("calculator", expression="1 + 1")] * 6, [calculator], max_repeats=2)
    events = start(agent, "loop forever")
    stop = events[-1]
    assert isinstance(stop, Stopped) and stop.kind == "loop"
    assert sum(isinstance(e, ToolResult) for e in events) == 2  # ran twice, the third identical call stopped it
    assert stored(harness, stop.run_id).status == "stopped"


@pytest.mark.parametrize(
    ("limits", "kind"),
    [({"max_steps": 3}, "steps"), ({"max_tokens": 150}, "tokens"), ({"max_calls_per_tool": 2}, "calls:calculator")],
)
def test_budgets_stop_a_runaway_run_and_say_what_was_spent(harness: Harness, limits: dict[str, int],
                                                           kind: str) -> None:  # fmt: skip
    script = [call("calculator", expression=f"{i} + 1") for i in range(10)]
    events = start(harness.agent(script, [calculator], **limits), "count")
    stop = events[-1]
    assert isinstance(stop, Stopped) and stop.kind == kind
    assert "budget exceeded" in stop.reason
    assert stop.spent["steps"] <= 3


def test_wall_time_is_a_budget_too(harness: Harness) -> None:
    @tool
    def slow(seconds: float) -> str:
        """Wait."""
        time.sleep(seconds)
        return "done"

    events = start(harness.agent([call("slow", seconds=0.3)] * 3, [slow], max_wall_s=0.25), "wait")
    assert isinstance(events[-1], Stopped) and events[-1].kind == "wall_s"


def test_a_tool_that_fails_or_hangs_is_reported_to_the_model_not_fatal(harness: Harness) -> None:
    @tool(timeout_s=0.2)
    def hang() -> str:
        """Hang."""
        time.sleep(2)
        return "never"

    @tool
    def broken() -> str:
        """Fail."""
        raise RuntimeError("database is down")

    script = [calls(("hang", {}), ("broken", {}), ("nope", {})), answer("Both tools failed.")]
    events = start(harness.agent(script, [hang, broken]), "try")
    results = [e for e in events if isinstance(e, ToolResult)]
    assert [r.ok for r in results] == [False, False, False]
    assert "took longer than 0.2 s" in results[0].text
    assert results[1].text == "error: RuntimeError: database is down"
    assert "no tool 'nope'" in results[2].text and "broken, hang" in results[2].text
    assert isinstance(events[-1], Answered)


sent: list[dict[str, Any]] = []


@tool(risk="external")
def send_email(to: str, subject: str) -> str:
    """Send an email.

    Args:
        to: the address.
        subject: the subject line.
    """
    sent.append({"to": to, "subject": subject})
    return f"sent to {to}"


def test_a_risky_call_waits_for_approval_and_runs_once_with_edited_arguments(harness: Harness) -> None:
    sent.clear()
    script = [call("send_email", to="all@corp.example", subject="Q3"), answer("Sent.")]
    agent = harness.agent(script, [send_email])
    events = start(agent, "email the Q3 numbers")
    asked = events[-1]
    assert isinstance(asked, ApprovalRequested) and asked.tool == "send_email" and asked.risk == "external"
    assert sent == [] and stored(harness, asked.run_id).status == "waiting"
    approval = harness.runs.approval(asked.approval_id)
    assert approval is not None and "email the Q3 numbers" in approval.context
    with pytest.raises(ConfigError, match="cannot be resumed: it is waiting"):
        list(agent.resume(asked.run_id))
    edited = json.dumps({"to": "cfo@corp.example", "subject": "Q3"})
    assert harness.runs.decide(asked.approval_id, "approved", by="key-boss", arguments=edited) is not None
    resumed = list(agent.resume(asked.run_id))
    assert isinstance(resumed[0], RunStarted) and resumed[0].resumed
    assert isinstance(resumed[-1], Answered) and resumed[-1].text == "Sent."
    assert sent == [{"to": "cfo@corp.example", "subject": "Q3"}]
    with pytest.raises(ConfigError, match="it is done"):
        list(agent.resume(asked.run_id))
    assert sent == [{"to": "cfo@corp.example", "subject": "Q3"}]


def test_a_rejected_call_is_not_run_and_the_model_is_told(harness: Harness) -> None:
    sent.clear()
    seen: list[str] = []

    def after(messages: list[Message]) -> Any:
        seen.append(messages[-1].content)
        return answer("I did not send it.")

    agent = harness.agent([call("send_email", to="all@corp.example", subject="hi"), after], [send_email])
    asked = start(agent, "email everyone")[-1]
    assert isinstance(asked, ApprovalRequested)
    harness.runs.decide(asked.approval_id, "rejected", by="key-boss", note="too broad")
    events = list(agent.resume(asked.run_id))
    assert sent == []
    assert seen == ["not run: key-boss rejected it (too broad)"]
    assert isinstance(events[-1], Answered)


def test_tools_below_the_approval_risk_and_auto_approved_ones_do_not_wait(harness: Harness) -> None:
    sent.clear()
    script = [call("send_email", to="me@corp.example", subject="note"), answer("ok")]
    events = start(harness.agent(script, [send_email], approval_risk=None), "note to self")
    assert isinstance(events[-1], Answered) and len(sent) == 1
    script = [call("send_email", to="me@corp.example", subject="again"), answer("ok")]
    events = start(harness.agent(script, [send_email], auto_approve=["send_email"]), "again")
    assert isinstance(events[-1], Answered) and len(sent) == 2


def test_memory_is_kept_per_user_and_recalled_into_later_runs(harness: Harness, minilm: Any) -> None:
    memory = Memory(harness.memory, lambda: minilm)
    remember = memory.tool()
    script = [call("remember", fact="Ann's reports go to the finance team in Berlin."), answer("Noted.")]
    agent = harness.agent(script, [remember])
    agent.memory = memory
    first = start(agent, "Remember that my reports go to the finance team in Berlin.")
    assert isinstance(first[-1], Answered)
    assert [m.text for m in harness.memory.items("key-ann")] == ["Ann's reports go to the finance team in Berlin."]
    model = ScriptedChatModel([answer("To the finance team in Berlin.")])
    agent.model = model
    later = start(agent, "Which team do my reports go to?")
    assert isinstance(later[0], RunStarted) and later[0].recalled == (
        "Ann's reports go to the finance team in Berlin.",
    )
    assert "finance team in Berlin" in model.calls[0].messages[0].content
    model.add(answer("I don't know."))
    other = start(agent, "Which team do my reports go to?", user="key-bob")
    assert isinstance(other[0], RunStarted) and other[0].recalled == ()


def test_older_turns_are_summarised_when_the_conversation_outgrows_its_budget() -> None:
    turns = [Message("system", "You help.")]
    for i in range(30):
        turns += [Message("user", f"question {i} " + "about invoices " * 20), Message("assistant", f"answer {i}")]
    summariser = ScriptedChatModel(["The user asked about invoices 0-25."])
    fitted = fit(turns, 600, summariser)
    assert fitted[0].content == "You help."
    assert fitted[1].role == "system" and fitted[1].content == SUMMARY_PREFIX + "The user asked about invoices 0-25."
    assert fitted[-1].content == "answer 29"
    assert len(fitted) < len(turns)
    assert fit(turns[:3], 600, summariser) == turns[:3]  # already fits: unchanged, no model call
    assert len(summariser.calls) == 1


def test_an_empty_task_and_a_clash_of_tool_names_are_refused(harness: Harness) -> None:
    with pytest.raises(ConfigError, match="empty"):
        start(harness.agent([], [calculator]), "  ")
    with pytest.raises(ConfigError, match="share a name"):
        harness.agent([], [calculator, calculator])


def test_a_model_failure_ends_the_run_as_failed(harness: Harness) -> None:
    from quarry.errors import ProviderError

    events = start(harness.agent([ProviderError("down", provider="x", status=503)], [calculator]), "?")
    assert isinstance(events[-1], Failed) and "down" in events[-1].reason
    assert stored(harness, events[-1].run_id).status == "failed"


def test_the_tool_context_carries_the_runs_owner(harness: Harness) -> None:
    @tool
    def whoami(context: ToolContext) -> str:
        """Who is asking."""
        return f"{context.user} {','.join(context.principals)} {context.run_id != ''}"

    events = start(harness.agent([call("whoami"), answer("ok")], [whoami]), "who?")
    assert next(e for e in events if isinstance(e, ToolResult)).text == "key-ann group:finance True"


def test_runs_are_listed_from_the_store(harness: Harness, tmp_path: Path) -> None:
    start(harness.agent([answer("hi")], [calculator]), "hello")
    assert [r.task for r in harness.runs.runs(user="key-ann")] == ["hello"]


def test_the_approval_flow_on_postgresql(postgres_url: str) -> None:
    from quarry.agents import Agent
    from quarry.settings import AgentSettings
    from quarry.stores.postgres import PostgresRunStore

    sent.clear()
    runs = PostgresRunStore(postgres_url)
    model = ScriptedChatModel([call("send_email", to="team@corp.example", subject="hi"), answer("Sent.")])
    agent = Agent(model, [send_email], runs, settings=AgentSettings(), tracer=Tracer(), visibility=lambda run: None)
    asked = list(agent.start("email the team", user="key-ann", principals=()))[-1]
    assert isinstance(asked, ApprovalRequested)
    assert runs.decide(asked.approval_id, "approved", by="key-boss") is not None
    other = Agent(model, [send_email], runs, settings=AgentSettings(), tracer=Tracer(), visibility=lambda run: None)
    assert isinstance(list(other.resume(asked.run_id))[-1], Answered)  # another process's agent, same database
    with pytest.raises(ConfigError, match="it is done"):
        list(agent.resume(asked.run_id))
    assert sent == [{"to": "team@corp.example", "subject": "hi"}]
    runs.close()


def test_a_tool_call_cut_off_mid_json_is_not_taken_as_the_answer(harness: Harness) -> None:
    cut = '{\n  "tool": "calculator",\n  "arguments": {"expression": "Microsoft.com.au.com.au.com.au'
    agent = harness.agent([cut, call("calculator", expression="2 + 2"), answer("4")], [calculator])
    events = start(agent, "2 + 2?")
    assert isinstance(events[-1], Answered) and events[-1].text == "4"
    assert [e.text for e in events if isinstance(e, ToolResult)] == ["4"]
    agent = harness.agent([cut] * 5, [calculator], max_invalid_arguments=1)
    stop = start(agent, "2 + 2?")[-1]
    assert isinstance(stop, Stopped) and stop.kind == "invalid_arguments"
