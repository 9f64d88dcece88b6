"""The JSON filter expression of the API, parsed into the store's filter AST.

One operator per object::

    {"and": [{"eq": {"field": "lang", "value": "en"}}, {"range": {"field": "year", "gte": 2020}}]}

Operators: ``eq``/``ne`` (field, value), ``in``/``any_of`` (field, values), ``range`` (field and
any of gte, gt, lte, lt), ``and``/``or`` (a list), ``not`` (an expression). Bounded in depth and size.
"""

from __future__ import annotations

import math
from typing import Any

from quarry.api.errors import ApiError
from quarry.stores.filters import And, AnyOf, Eq, Filter, In, Ne, Not, Or, Range
from quarry.types import JsonValue

__all__ = ["parse_filter"]

MAX_DEPTH = 8
MAX_NODES = 64
MAX_VALUES = 256


def parse_filter(data: dict[str, Any] | None) -> Filter | None:
    if data is None:
        return None
    budget = [MAX_NODES]
    return _node(data, 0, budget)


def _bad(message: str) -> ApiError:
    return ApiError(400, "invalid_filter", f"invalid filter: {message}")


def _node(data: Any, depth: int, budget: list[int]) -> Filter:
    budget[0] -= 1
    if depth > MAX_DEPTH or budget[0] < 0:
        raise _bad(f"at most {MAX_DEPTH} levels and {MAX_NODES} clauses")
    if not isinstance(data, dict) or len(data) != 1:
        raise _bad("each expression is an object with exactly one operator, e.g. {'eq': {...}}")
    op, arg = next(iter(data.items()))
    if op in ("and", "or"):
        if not isinstance(arg, list):
            raise _bad(f"'{op}' takes a list of expressions")
        clauses = tuple(_node(item, depth + 1, budget) for item in arg)
        return And(*clauses) if op == "and" else Or(*clauses)
    if op == "not":
        return Not(_node(arg, depth + 1, budget))
    if op in _LEAVES:
        if not isinstance(arg, dict):
            raise _bad(f"'{op}' takes an object with a 'field'")
        return _LEAVES[op](_field(arg), arg)
    raise _bad(f"unknown operator {op!r}; use eq, ne, in, any_of, range, and, or, not")


def _field(arg: dict[str, Any]) -> str:
    field = arg.get("field")
    if not isinstance(field, str) or not field:
        raise _bad("'field' must be a non-empty string")
    return field


_INT64 = (-(2**63), 2**63 - 1)


def _number(value: int | float, where: str) -> int | float:
    """A number the store can compare: integers within signed 64 bits (SQLite's), floats finite."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
        raise _bad(f"{where} {value} is outside the 64-bit integer range (±9223372036854775807); send it as a string")
    if isinstance(value, float) and not math.isfinite(value):
        raise _bad(f"{where} must be a finite number")
    return value


def _value(value: Any) -> JsonValue:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number(value, "value")
    if value is None or isinstance(value, str | bool):
        return value
    raise _bad("values must be strings, numbers, booleans or null")


def _values(arg: dict[str, Any]) -> tuple[JsonValue, ...]:
    values = arg.get("values")
    if not isinstance(values, list) or len(values) > MAX_VALUES:
        raise _bad(f"'values' must be a list of at most {MAX_VALUES} values")
    return tuple(_value(v) for v in values)


def _eq(field: str, arg: dict[str, Any]) -> Filter:
    return Eq(field, _value(arg.get("value")))


def _ne(field: str, arg: dict[str, Any]) -> Filter:
    return Ne(field, _value(arg.get("value")))


def _in(field: str, arg: dict[str, Any]) -> Filter:
    return In(field, _values(arg))


def _any_of(field: str, arg: dict[str, Any]) -> Filter:
    return AnyOf(field, _values(arg))


def _range(field: str, arg: dict[str, Any]) -> Filter:
    bounds: dict[str, float | str] = {}
    for name in ("gte", "gt", "lte", "lt"):
        value = arg.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _bad(f"range bound {name!r} must be a number or a string")
        bounds[name] = value if isinstance(value, str) else _number(value, f"range bound {name!r}")
    extra = set(arg) - {"field", "gte", "gt", "lte", "lt"}
    if extra:
        raise _bad(f"unknown range keys {sorted(extra)}")
    return Range(field, gte=bounds.get("gte"), gt=bounds.get("gt"), lte=bounds.get("lte"), lt=bounds.get("lt"))


_LEAVES = {"eq": _eq, "ne": _ne, "in": _in, "any_of": _any_of, "range": _range}
