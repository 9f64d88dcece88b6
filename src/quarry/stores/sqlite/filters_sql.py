"""Compile a :mod:`quarry.stores.filters` expression to a SQL boolean over the ``documents`` row ``d``.

Every clause evaluates to 0 or 1, never NULL, so ``Not`` is a plain negation: a missing metadata
key is *not equal* to any value (``Ne`` and ``Not(Eq)`` match documents that lack the key), and
``Eq(key, None)`` matches a missing key as well as an explicit null.
Values are always bound parameters; keys are validated and passed as bound JSON paths.
Comparisons are typed: ``Eq("year", 2020)`` does not match the string ``"2020"``; ``Range``
compares numbers with numbers and strings (ISO-8601 dates) with strings.
"""

from __future__ import annotations

import re

from quarry.errors import StoreError
from quarry.stores.filters import BUILTIN_FIELDS, And, AnyOf, Eq, Filter, In, Ne, Not, Or, Range
from quarry.types import JsonValue

__all__ = ["compile_filter"]

_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")
_NUMERIC = "('integer', 'real')"
_TEXT = "('text')"
_SCALAR = "('integer', 'real', 'text')"

SqlParams = list[object]


def compile_filter(where: Filter | None) -> tuple[str, SqlParams]:
    """``(sql, params)``; ``("1", [])`` for no filter."""
    if where is None:
        return "1", []
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
            return _join(clauses, "AND", empty="1")
        case Or(clauses):
            return _join(clauses, "OR", empty="0")
        case Not(clause):
            sql, params = _compile(clause)
            return f"NOT ({sql})", params
    raise StoreError(f"unsupported filter node {node!r}", operation="filter")


def _field(field: str) -> tuple[str, SqlParams]:
    """The SQL expression for ``field`` (a column or a JSON extraction) and its parameters."""
    if field in BUILTIN_FIELDS:
        return f"d.{field}", []
    if not _KEY.match(field):
        raise StoreError(
            f"invalid metadata key {field!r} in filter",
            operation="filter",
            hint="metadata keys in filters may only contain letters, digits, '_', '.' and '-'",
        )
    return "json_extract(d.metadata, ?)", [_path(field)]


def _path(field: str) -> str:
    return f'$."{field}"'


def _eq(field: str, value: JsonValue) -> tuple[str, SqlParams]:
    if isinstance(value, bool) or value is None:
        return _json_type(field, "true" if value is True else "false" if value is False else "null")
    if not isinstance(value, str | int | float):
        raise StoreError(f"unsupported filter value {value!r} for {field!r}", operation="filter")
    guard, guard_params = _type_guard(field, _SCALAR)
    expr, params = _field(field)
    return f"coalesce({guard} AND {expr} = ?, 0)", [*guard_params, *params, value]


def _type_guard(field: str, types: str) -> tuple[str, SqlParams]:
    """True when the field holds one of the SQL/JSON ``types`` (so 1 never equals ``true``)."""
    if field in BUILTIN_FIELDS:
        return f"typeof(d.{field}) IN {types}", []
    _field(field)  # validates the key
    return f"json_type(d.metadata, ?) IN {types}", [_path(field)]


def _json_type(field: str, json_type: str) -> tuple[str, SqlParams]:
    """Booleans and null compare by JSON type, so ``True`` does not match the number 1.
    ``None`` matches an explicit null and a missing key alike."""
    if field in BUILTIN_FIELDS:
        return "0", []  # built-ins are never booleans or null
    _field(field)  # validates the key
    return "(coalesce(json_type(d.metadata, ?), 'null') = ?)", [_path(field), json_type]


def _in(field: str, values: tuple[JsonValue, ...]) -> tuple[str, SqlParams]:
    plain = [v for v in values if isinstance(v, str | int | float) and not isinstance(v, bool)]
    special = [v for v in values if isinstance(v, bool) or v is None or not isinstance(v, str | int | float)]
    parts: list[str] = []
    params: SqlParams = []
    if plain:
        guard, guard_params = _type_guard(field, _SCALAR)
        expr, expr_params = _field(field)
        parts.append(f"coalesce({guard} AND {expr} IN ({', '.join('?' * len(plain))}), 0)")
        params += [*guard_params, *expr_params, *plain]
    for value in special:
        sql, more = _eq(field, value)
        parts.append(sql)
        params += more
    if not parts:
        return "0", []
    return f"({' OR '.join(parts)})", params


def _any_of(field: str, values: tuple[JsonValue, ...]) -> tuple[str, SqlParams]:
    """A JSON list shares a value with ``values`` (via ``json_each``), or a scalar is one of them."""
    plain: SqlParams = [v for v in values if isinstance(v, str | int | float) and not isinstance(v, bool)]
    if not plain:
        return "0", []
    marks = ", ".join("?" * len(plain))
    if field in BUILTIN_FIELDS:
        return f"coalesce(d.{field} IN ({marks}), 0)", plain
    _field(field)  # validates the key
    path = _path(field)
    sql = (
        f"coalesce(CASE json_type(d.metadata, ?) "
        f"WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(d.metadata, ?) AS e "
        f"WHERE e.type IN {_SCALAR} AND e.value IN ({marks})) "
        f"WHEN 'integer' THEN json_extract(d.metadata, ?) IN ({marks}) "
        f"WHEN 'real' THEN json_extract(d.metadata, ?) IN ({marks}) "
        f"WHEN 'text' THEN json_extract(d.metadata, ?) IN ({marks}) "
        f"ELSE 0 END, 0)"
    )
    return sql, [path, path, *plain, path, *plain, path, *plain, path, *plain]


def _range(node: Range) -> tuple[str, SqlParams]:
    candidates = ((">=", node.gte), (">", node.gt), ("<=", node.lte), ("<", node.lt))
    bounds = [(op, v) for op, v in candidates if v is not None]
    expr, expr_params = _field(node.field)
    if not bounds:
        return f"({expr} IS NOT NULL)", expr_params
    kinds = {_bound_kind(node.field, v) for _, v in bounds}
    if len(kinds) > 1:
        raise StoreError(
            f"range on {node.field!r} mixes numbers and strings", operation="filter", hint="use one type per range"
        )
    guard, params = _type_guard(node.field, _NUMERIC if kinds == {"number"} else _TEXT)
    parts = [guard] + [f"{expr} {op} ?" for op, _ in bounds]
    for _, value in bounds:
        params += [*expr_params, value]
    return f"coalesce({' AND '.join(parts)}, 0)", params


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
