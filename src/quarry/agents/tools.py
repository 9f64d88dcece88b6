"""Tools: typed Python functions an agent may call, with their JSON schema, risk level and timeout.

``@tool`` reads the schema from the signature and the docstring (a Google-style ``Args:`` section describes
each parameter), validates the model's arguments with pydantic before the call, and turns a validation failure
into :class:`ToolArgumentError` — a structured error the loop hands back to the model so it can correct itself.
A parameter annotated :class:`ToolContext` is not part of the schema: the loop passes the run's context (who
is asking, which principals they hold) so a tool can act as its caller and never as the server.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_type_hints, overload

import jsonschema
import pydantic

from quarry.errors import ConfigError, QuarryError
from quarry.llm import ToolSpec
from quarry.stores.filters import Filter

__all__ = [
    "RISKS",
    "Risk",
    "Tool",
    "ToolArgumentError",
    "ToolContext",
    "at_or_above",
    "from_json_schema",
    "result_text",
    "tool",
]

Risk = Literal["read", "write", "external"]
RISKS: tuple[Risk, ...] = ("read", "write", "external")


def at_or_above(risk: str, threshold: str | None) -> bool:
    """Whether ``risk`` needs approval under ``threshold`` (``None``: nothing does)."""
    return threshold is not None and RISKS.index(risk) >= RISKS.index(threshold)


@dataclass(frozen=True, slots=True)
class ToolContext:
    """Who a tool acts for: the run, its user, their principals and the filter their searches carry."""

    run_id: str = ""
    user: str = ""
    principals: tuple[str, ...] = ()
    visibility: Filter | None = None
    collections: tuple[str, ...] = ()  # the collections the caller's key may use; () = any

    def may_use(self, collection: str) -> bool:
        return not self.collections or collection in self.collections


class ToolArgumentError(QuarryError):
    """The model's arguments did not validate; ``errors`` lists each problem (where, what)."""

    def __init__(self, tool: str, errors: Sequence[Mapping[str, str]]) -> None:
        summary = "; ".join(f"{e['where'] or 'arguments'}: {e['problem']}" for e in errors)
        super().__init__(f"invalid arguments for {tool}: {summary}", hint="call the tool again with fixed arguments")
        self.tool = tool
        self.errors = [dict(e) for e in errors]


@dataclass(frozen=True, slots=True)
class Tool:
    """A callable tool. ``invoke(arguments, context)`` runs it on *validated* arguments."""

    name: str
    description: str
    parameters: Mapping[str, Any]
    validate: Callable[[Any], dict[str, Any]]
    invoke: Callable[[dict[str, Any], ToolContext], Any]
    risk: Risk = "read"
    timeout_s: float | None = None
    source: str = "python"  # "python", "builtin" or "mcp:<server>"

    @property
    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, dict(self.parameters))

    def arguments(self, text: str) -> dict[str, Any]:
        """The call's arguments (JSON text from the model), validated — or :class:`ToolArgumentError`."""
        try:
            value = json.loads(text or "{}")
        except json.JSONDecodeError as exc:
            raise ToolArgumentError(self.name, [{"where": "", "problem": f"not JSON: {exc.msg}"}]) from None
        if not isinstance(value, dict):
            raise ToolArgumentError(self.name, [{"where": "", "problem": "must be a JSON object"}])
        return self.validate(value)


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *, name: str | None = None, risk: Risk = "read", timeout_s: float | None = None, description: str | None = None
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    risk: Risk = "read",
    timeout_s: float | None = None,
    description: str | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a :class:`Tool` of a typed function (usable as ``@tool`` or ``@tool(risk="write")``)."""

    def make(function: Callable[..., Any]) -> Tool:
        return _from_function(function, name=name, risk=risk, timeout_s=timeout_s, description=description)

    return make(fn) if fn is not None else make


def _from_function(
    fn: Callable[..., Any], *, name: str | None, risk: Risk, timeout_s: float | None, description: str | None
) -> Tool:
    if risk not in RISKS:
        raise ConfigError(f"tool risk must be one of {', '.join(RISKS)}, not {risk!r}", key="risk")
    hints = get_type_hints(fn)
    summary, documented = _docstring(inspect.getdoc(fn) or "")
    fields: dict[str, Any] = {}
    context_name: str | None = None
    for parameter in inspect.signature(fn).parameters.values():
        annotation = hints.get(parameter.name, Any)
        if annotation is ToolContext:
            context_name = parameter.name
            continue
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[parameter.name] = (annotation, pydantic.Field(default, description=documented.get(parameter.name)))
    model = pydantic.create_model(f"{fn.__name__}_arguments", **fields)
    tool_name = name or fn.__name__

    def validate(arguments: Any) -> dict[str, Any]:
        try:
            parsed = model.model_validate(arguments)
        except pydantic.ValidationError as exc:
            problems = [{"where": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()]
            raise ToolArgumentError(tool_name, problems) from None
        return {key: getattr(parsed, key) for key in fields}

    def invoke(arguments: dict[str, Any], context: ToolContext) -> Any:
        return fn(**arguments, **({context_name: context} if context_name else {}))

    schema = _clean(model.model_json_schema())
    return Tool(tool_name, description or summary or tool_name, schema, validate, invoke, risk, timeout_s)


def from_json_schema(
    name: str,
    description: str,
    schema: Mapping[str, Any],
    invoke: Callable[[dict[str, Any], ToolContext], Any],
    *,
    risk: Risk = "external",
    timeout_s: float | None = None,
    source: str = "python",
) -> Tool:
    """A tool described by a JSON schema (an MCP server's tool): arguments validated with ``jsonschema``."""
    validator = jsonschema.Draft202012Validator(dict(schema))

    def validate(arguments: Any) -> dict[str, Any]:
        problems = [
            {"where": ".".join(str(p) for p in error.absolute_path), "problem": error.message}
            for error in sorted(validator.iter_errors(arguments), key=lambda e: list(map(str, e.absolute_path)))
        ]
        if problems:
            raise ToolArgumentError(name, problems)
        return dict(arguments)

    return Tool(name, description, dict(schema), validate, invoke, risk, timeout_s, source)


def result_text(value: Any, *, max_chars: int) -> str:
    """A tool's return value as the text the model reads (JSON unless it is text), cut to ``max_chars``."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, pydantic.BaseModel):
        text = value.model_dump_json()
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        text = json.dumps(dataclasses.asdict(value), default=str)
    else:
        text = json.dumps(value, default=str)
    if len(text) > max_chars:
        text = text[:max_chars] + f"… [{len(text) - max_chars} more characters cut]"
    return text


_ARGS = re.compile(r"^(Args|Arguments|Parameters):\s*$", re.MULTILINE)
_PARAM = re.compile(r"^\s+(\w+)(?:\s*\([^)]*\))?:\s*(.+)$")


def _docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The summary (text before ``Args:``) and each documented parameter's description."""
    parts = _ARGS.split(doc, maxsplit=1)
    summary = " ".join(parts[0].split())
    described: dict[str, str] = {}
    if len(parts) == 3:
        current = None
        for line in parts[2].splitlines():
            match = _PARAM.match(line)
            if match:
                current = match.group(1)
                described[current] = match.group(2).strip()
            elif current and line.startswith((" ", "\t")) and line.strip():
                described[current] += " " + line.strip()
            elif line.strip() and not line.startswith((" ", "\t")):
                break
    return summary, described


def _clean(schema: Any) -> Any:
    """pydantic's schema without ``title`` noise (shorter prompts for small models)."""
    if isinstance(schema, dict):
        return {k: _clean(v) for k, v in schema.items() if k != "title" or not isinstance(v, str)}
    if isinstance(schema, list):
        return [_clean(v) for v in schema]
    return schema
