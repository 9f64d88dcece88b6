"""complete_structured: validate, re-ask with the validation error, give up with what failed."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from quarry.errors import StructuredOutputError
from quarry.llm import complete_structured
from quarry.testing.chat import ScriptedChatModel
from quarry.types import Message

ASK = [Message("user", "Who wrote the essay?")]


class Author(BaseModel):
    name: str = Field(max_length=40)
    year: int


def test_reask_carries_the_validation_error() -> None:
    model = ScriptedChatModel(['{"name": "Paul Graham"}', 'Sure! ```json\n{"name": "Paul Graham", "year": 2004}\n```'])
    author = complete_structured(model, ASK, Author)
    assert author == Author(name="Paul Graham", year=2004)
    first, second = model.calls
    assert first.messages[0].role == "system" and '"year"' in first.messages[0].content  # schema in the prompt
    assert first.response_schema is None  # the model does not constrain decoding
    reask = second.messages[-1]
    assert reask.role == "user" and "year: Field required" in reask.content
    assert second.messages[-2] == Message("assistant", '{"name": "Paul Graham"}')


def test_native_schema_is_sent_when_supported() -> None:
    model = ScriptedChatModel(['{"name": "Ada", "year": 1843}'], supports_json_schema=True)
    complete_structured(model, ASK, Author)
    assert model.calls[0].response_schema == Author.model_json_schema() and model.calls[0].messages == tuple(ASK)


def test_always_invalid_raises_with_the_failure() -> None:
    model = ScriptedChatModel(default="I cannot answer that.")
    with pytest.raises(StructuredOutputError) as caught:
        complete_structured(model, ASK, Author, max_attempts=2)
    assert caught.value.attempts == 2 and len(model.calls) == 2
    assert "<root>: Invalid JSON" in caught.value.last_error
    assert "failed schema validation after 2 attempt(s)" in str(caught.value)


def test_dict_schema_is_checked_with_jsonschema() -> None:
    schema = {
        "type": "object",
        "properties": {"tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2}},
        "required": ["tags"],
    }
    model = ScriptedChatModel(['{"tags": ["a", "b", "c"]}', '{"tags": 5}', '{"tags": ["a"]}'])
    assert complete_structured(model, ASK, schema) == {"tags": ["a"]}
    assert "tags: ['a', 'b', 'c'] is too long" in model.calls[1].messages[-1].content
    assert "tags: 5 is not of type 'array'" in model.calls[2].messages[-1].content
