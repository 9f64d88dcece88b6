"""Structured output: a completion parsed and validated against a schema, re-asking on failure.

:func:`complete_structured` takes a pydantic model class (returns an instance) or a JSON schema dict
(returns the validated dict, checked with ``jsonschema``). When the model ``supports_json_schema`` the
schema is sent as a decoding constraint; otherwise it is described in a system message. Either way
the reply is parsed (code fences and text around the JSON object are tolerated) and validated; on
failure the reply and the validation errors go back to the model as a new turn, up to ``max_attempts``
calls in all, after which :class:`~quarry.errors.StructuredOutputError` says what failed validation.
Bound string lengths (``maxLength``) in schemas for small local models.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar, overload

import jsonschema
from pydantic import BaseModel, ValidationError

from quarry.errors import StructuredOutputError
from quarry.llm.base import ChatModel, ChatSettings
from quarry.types import Message

__all__ = ["complete_structured", "extract_json", "reask_message"]

T = TypeVar("T", bound=BaseModel)


def extract_json(text: str) -> str:
    """The JSON object inside ``text`` (strips Markdown fences and prose around the outermost braces)."""
    start, end = text.find("{"), text.rfind("}")
    return text[start : end + 1] if 0 <= start < end else text.strip()


def _pydantic_errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors())


def _validate(text: str, schema: type[BaseModel] | dict[str, Any]) -> tuple[Any, str | None]:
    """``(value, None)`` when ``text`` validates, else ``(None, what failed)``."""
    raw = extract_json(text)
    if isinstance(schema, dict):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            return None, f"invalid JSON: {exc.msg} at position {exc.pos}"
        problems = [
            f"{'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
            for e in jsonschema.Draft202012Validator(schema).iter_errors(data)
        ]
        return (data, None) if not problems else (None, "; ".join(problems))
    try:
        return schema.model_validate_json(raw), None
    except ValidationError as exc:
        return None, _pydantic_errors(exc)


def reask_message(error: str) -> Message:
    """The turn sent after a reply that failed validation."""
    return Message(
        "user",
        f"Your reply failed validation: {error}\nReply again with only a JSON object that matches the schema.",
    )


def _instructions(json_schema: dict[str, Any]) -> str:
    return f"Reply with only a JSON object matching this JSON schema, no prose:\n{json.dumps(json_schema)}"


def _with_system(messages: Sequence[Message], text: str) -> list[Message]:
    if messages and messages[0].role == "system":
        return [Message("system", f"{messages[0].content}\n\n{text}"), *messages[1:]]
    return [Message("system", text), *messages]


@overload
def complete_structured(
    model: ChatModel,
    messages: Sequence[Message],
    schema: type[T],
    *,
    max_attempts: int = 3,
    settings: ChatSettings | None = None,
) -> T: ...


@overload
def complete_structured(
    model: ChatModel,
    messages: Sequence[Message],
    schema: dict[str, Any],
    *,
    max_attempts: int = 3,
    settings: ChatSettings | None = None,
) -> dict[str, Any]: ...


def complete_structured(
    model: ChatModel,
    messages: Sequence[Message],
    schema: type[BaseModel] | dict[str, Any],
    *,
    max_attempts: int = 3,
    settings: ChatSettings | None = None,
) -> Any:
    """Ask ``model`` for output valid against ``schema``; see the module docstring."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    json_schema = schema if isinstance(schema, dict) else schema.model_json_schema()
    native = model.supports_json_schema
    conversation = list(messages) if native else _with_system(messages, _instructions(json_schema))
    error, text = "", ""
    for _ in range(max_attempts):
        done = model.complete(conversation, settings=settings, response_schema=json_schema if native else None)
        text = done.text
        value, problem = _validate(text, schema)
        if problem is None:
            return value
        error = problem
        conversation += [Message("assistant", text), reask_message(problem)]
    raise StructuredOutputError(attempts=max_attempts, last_error=error, output=text)
