"""SchemaTools with ``parallel``: several calls in one turn through one constrained ``{"calls": [...]}`` object."""

from __future__ import annotations

import json

from quarry.llm import ToolSpec
from quarry.llm.schema_tools import SchemaTools, tool_choice_schema
from quarry.testing.chat import ScriptedChatModel
from quarry.types import Message

WEATHER = ToolSpec("weather", "Weather in a city.", {"type": "object", "properties": {"city": {"type": "string"}},
                                                     "required": ["city"]})  # fmt: skip


def test_parallel_calls_come_back_as_several_tool_calls() -> None:
    reply = json.dumps({"calls": [{"tool": "weather", "arguments": {"city": "Lisbon"}},
                                  {"tool": "weather", "arguments": {"city": "Porto"}}]})  # fmt: skip
    inner = ScriptedChatModel([reply], supports_json_schema=True)
    done = SchemaTools(inner, parallel=True).complete([Message("user", "Weather in Lisbon and Porto?")],
                                                      tools=[WEATHER])  # fmt: skip
    assert [(c.name, json.loads(c.arguments)) for c in done.tool_calls] == [
        ("weather", {"city": "Lisbon"}), ("weather", {"city": "Porto"})]  # fmt: skip
    assert done.finish_reason == "tool_calls"
    schema = inner.calls[0].response_schema
    assert schema is not None and schema["anyOf"][0]["properties"]["calls"]["minItems"] == 1
    assert '"calls"' in inner.calls[0].messages[0].content


def test_without_parallel_the_schema_is_one_call_or_an_answer() -> None:
    schema = tool_choice_schema([WEATHER])
    assert [option["required"] for option in schema["anyOf"]] == [["tool", "arguments"], ["answer"]]
