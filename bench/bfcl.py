"""Scoring tool calls against BFCL's possible answers (the AST category rules, simplified and written down).

A model's calls match a ground truth when: the same functions are called (as a multiset for parallel), every
parameter the truth requires is present, no parameter the truth does not list is given, and each value is one
of the allowed ones — strings compared as BFCL's checker does (case, spaces and ``,./-_*^`` ignored), an int
accepted for a float, lists element by element, dicts key by key. ``""`` among the allowed values marks a
parameter that may be left out.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from quarry.llm import ToolSpec

__all__ = ["data_folder", "load", "matches", "tool_spec"]

_TYPES = {"dict": "object", "float": "number", "tuple": "array", "integer": "integer", "string": "string",
          "boolean": "boolean", "array": "array", "object": "object", "number": "number"}  # fmt: skip


def data_folder() -> Path:
    """BFCL's data inside the installed ``bfcl-eval`` wheel (``pip install --no-deps bfcl-eval``)."""
    spec = importlib.util.find_spec("bfcl_eval")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("install the BFCL data: pip install --no-deps bfcl-eval")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def load(category: str) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(item, ground truth) pairs of ``simple_python``, ``multiple`` or ``parallel``."""
    folder = data_folder()
    items = [json.loads(line) for line in (folder / f"BFCL_v4_{category}.json").read_text().splitlines() if line]
    truths = {
        row["id"]: row["ground_truth"]
        for row in map(json.loads, (folder / "possible_answer" / f"BFCL_v4_{category}.json").read_text().splitlines())
    }
    return [(item, truths[item["id"]]) for item in items]


def _schema(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _schema(v) for k, v in node.items() if k not in ("type", "optional")}
        kind = node.get("type")
        if isinstance(kind, str) and kind != "any":
            out["type"] = _TYPES.get(kind, "string")
        if out.get("type") == "array" and "items" not in out:
            out["items"] = {}
        return out
    if isinstance(node, list):
        return [_schema(v) for v in node]
    return node


def tool_spec(function: dict[str, Any]) -> ToolSpec:
    parameters = _schema(function.get("parameters", {"type": "dict", "properties": {}}))
    return ToolSpec(function["name"], function.get("description", ""), parameters)


def _standard(text: str) -> str:
    return re.sub(r"[ ,./\-_*^]", "", text).lower().replace("'", '"')


def _value_ok(given: Any, allowed: Any) -> bool:
    if isinstance(allowed, str):
        return isinstance(given, str) and _standard(given) == _standard(allowed)
    if isinstance(allowed, bool) or isinstance(given, bool):
        return given is allowed
    if isinstance(allowed, int | float):
        return isinstance(given, int | float) and abs(float(given) - float(allowed)) < 1e-9
    if isinstance(allowed, list):
        return isinstance(given, list | tuple) and len(given) == len(allowed) and all(
            _value_ok(g, a) for g, a in zip(given, allowed, strict=True))  # fmt: skip
    if isinstance(allowed, dict):
        return isinstance(given, dict) and set(given) <= set(allowed) and all(
            any(_value_ok(given.get(k), option) for option in (v if isinstance(v, list) else [v]))
            for k, v in allowed.items() if k in given or "" not in (v if isinstance(v, list) else [v]))  # fmt: skip
    return bool(given == allowed)


def _call_ok(name: str, arguments: dict[str, Any], truth: dict[str, Any]) -> bool:
    ((expected, params),) = truth.items()
    if name != expected or set(arguments) - set(params):
        return False
    for param, allowed in params.items():
        if param not in arguments:
            if "" not in allowed:
                return False
            continue
        if not any(_value_ok(arguments[param], option) for option in allowed if option != ""):
            return False
    return True


def matches(calls: Sequence[tuple[str, dict[str, Any]]], truths: Sequence[dict[str, Any]]) -> bool:
    """Whether ``calls`` (name, arguments) are the ground truth's calls, in any order, each used once."""
    if len(calls) != len(truths):
        return False
    remaining = list(truths)
    for name, arguments in calls:
        found = next((t for t in remaining if _call_ok(name, arguments, t)), None)
        if found is None:
            return False
        remaining.remove(found)
    return True
