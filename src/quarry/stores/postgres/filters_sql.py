"""Compile a :mod:`quarry.stores.filters` expression to a PostgreSQL boolean over the ``documents`` row ``d``.

The semantics are the SQLite adapter's (:mod:`quarry.stores.sqlite.filters_sql`), checked by the same
conformance suite: every clause is true or false, never NULL, so ``Not`` is a plain negation and a missing
metadata key is *not equal* to any value; ``Eq(key, None)`` matches a missing key and an explicit null.
Comparisons are typed through JSONB (``Eq("year", 2020)`` does not match ``"2020"``, ``True`` does not match
``1``); strings range in byte order. Values are bound parameters; keys are validated and bound too.
"""

from __future__ import annotations

import json
import re

from quarry.errors import StoreError
from quarry.stores.filters import BUILTIN_FIELDS, And, AnyOf, Eq, Filter, In, Ne, Not, Or, Range
from quarry.types import JsonValue

__all__ = ["compile_filter"]

_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")

SqlParams = list[object]


def compile_filter(where: Filter | None) -> tuple[str, SqlParams]:
    """``(sql, params)`` with ``%s`` placeholders; ``("true", [])`` for no filter."""
    if where is None:
        return "true", []
    return _compile(where)


def _compile(node: Filter) -> tuple[str, SqlParams]:
    match node:
        case Eq(field, value):
            return _eq(field, value)
        case Ne(field, value):
            sql, params = _eq(field, value)
            return f"NOT ({sql})", params
        case In(field, values):
            return _in(field, values)
        case AnyOf(field, values):
            return _any_of(field, values)
        case Range():
            return _range(node)
        case And(clauses):
            return _join(clauses, "AND", empty="true")
        case Or(clauses):
            return _join(clauses, "OR", empty="false")
        case Not(clause):
            sql, params = _compile(clause)
            return f"NOT ({sql})", params
    raise StoreError(f"unsupported filter node {node!r}", operation="filter")


def _key(field: str) -> str:
    if not _KEY.match(field):
        raise StoreError(
            f"invalid metadata key {field!r} in filter",
            operation="filter",
            hint="metadata keys in filters may only contain letters, digits, '_', '.' and '-'",
        )
    return field


def _plain(value: JsonValue) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _eq(field: str, value: JsonValue) -> tuple[str, SqlParams]:
    if field in BUILTIN_FIELDS:
        return (f"coalesce(d.{field} = %s, false)", [value]) if isinstance(value, str) else ("false", [])
    key = _key(field)
    if value is None:
        return "(coalesce(jsonb_typeof(d.metadata -> %s), 'null') = 'null')", [key]
    if not isinstance(value, str | int | float | bool):
        raise StoreError(f"unsupported filter value {value!r} for {field!r}", operation="filter")
    return "coalesce(d.metadata -> %s = %s::jsonb, false)", [key, json.dumps(value)]


def _in(field: str, values: tuple[JsonValue, ...]) -> tuple[str, SqlParams]:
    parts: list[str] = []
    params: SqlParams = []
    for value in values:
        sql, more = _eq(field, value)
        parts.append(sql)
        params += more
    return (f"({' OR '.join(parts)})", params) if parts else ("false", [])


def _any_of(field: str, values: tuple[JsonValue, ...]) -> tuple[str, SqlParams]:
    """A JSON list shares a (string or number) value with ``values``, or a scalar is one of them."""
    plain = [v for v in values if _plain(v)]
    if not plain:
        return "false", []
    if field in BUILTIN_FIELDS:
        strings = [v for v in plain if isinstance(v, str)]
        return (f"coalesce(d.{field} = ANY(%s), false)", [strings]) if strings else ("false", [])
    key = _key(field)
    wanted = [json.dumps(v) for v in plain]
    sql = (
        "coalesce(CASE jsonb_typeof(d.metadata -> %s) "
        "WHEN 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements(d.metadata -> %s) AS e(value) "
        "WHERE e.value = ANY(%s::jsonb[])) "
        "WHEN 'string' THEN d.metadata -> %s = ANY(%s::jsonb[]) "
        "WHEN 'number' THEN d.metadata -> %s = ANY(%s::jsonb[]) "
        "ELSE false END, false)"
    )
    return sql, [key, key, wanted, key, wanted, key, wanted]


def _range(node: Range) -> tuple[str, SqlParams]:
    candidates = ((">=", node.gte), (">", node.gt), ("<=", node.lte), ("<", node.lt))
    bounds = [(op, v) for op, v in candidates if v is not None]
    builtin = node.field in BUILTIN_FIELDS
    key = None if builtin else _key(node.field)
    if not bounds:
        if builtin:
            return "true", []
        return "(coalesce(jsonb_typeof(d.metadata -> %s), 'null') <> 'null')", [key]
    kinds = {_bound_kind(node.field, v) for _, v in bounds}
    if len(kinds) > 1:
        raise StoreError(
            f"range on {node.field!r} mixes numbers and strings", operation="filter", hint="use one type per range"
        )
    numeric = kinds == {"number"}
    if builtin:
        if numeric:
            return "false", []  # built-ins are strings
        parts = [f'd.{node.field} COLLATE "C" {op} %s' for op, _ in bounds]
        return f"coalesce({' AND '.join(parts)}, false)", [v for _, v in bounds]
    guard = "jsonb_typeof(d.metadata -> %s) = " + ("'number'" if numeric else "'string'")
    value = "(d.metadata ->> %s)::float8" if numeric else '(d.metadata ->> %s) COLLATE "C"'
    parts = [guard] + [f"{value} {op} %s" for op, _ in bounds]
    params: SqlParams = [key]
    for _, bound in bounds:
        params += [key, float(bound) if numeric else bound]
    return f"coalesce({' AND '.join(parts)}, false)", params


def _bound_kind(field: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise StoreError(f"range bound {value!r} on {field!r} must be a number or a string", operation="filter")
    return "text" if isinstance(value, str) else "number"


def _join(clauses: tuple[Filter, ...], op: str, *, empty: str) -> tuple[str, SqlParams]:
    if not clauses:
        return empty, []
    parts: list[str] = []
    params: SqlParams = []
    for clause in clauses:
        sql, more = _compile(clause)
        parts.append(sql)
        params += more
    return f"({f' {op} '.join(parts)})", params
