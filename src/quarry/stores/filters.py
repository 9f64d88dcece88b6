"""A typed filter expression over document fields, applied *inside* each search path.

Fields are document metadata keys, plus the built-ins ``uri``, ``source_uri`` and ``title``.
Build with the helpers: ``And(Eq("lang", "en"), Range("year", gte=2020))``.
"""

from __future__ import annotations

from dataclasses import dataclass

from quarry.types import JsonValue

__all__ = ["BUILTIN_FIELDS", "And", "AnyOf", "Eq", "Filter", "In", "Ne", "Not", "Or", "Range"]

BUILTIN_FIELDS = frozenset({"uri", "source_uri", "title"})


@dataclass(frozen=True, slots=True)
class Eq:
    field: str
    value: JsonValue


@dataclass(frozen=True, slots=True)
class Ne:
    field: str
    value: JsonValue


@dataclass(frozen=True, slots=True)
class In:
    field: str
    values: tuple[JsonValue, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """The field (a JSON list in metadata, or a scalar) shares at least one value with ``values``.

    ``AnyOf("principals", ("public", "group:hr"))`` matches ``{"principals": ["group:hr"]}`` and
    ``{"principals": "public"}``; a missing key, an empty list or an empty ``values`` never match.
    Only strings and numbers match (booleans and nulls in either side are ignored).
    """

    field: str
    values: tuple[JsonValue, ...]


@dataclass(frozen=True, slots=True)
class Range:
    """``gte <= field <= lte`` (``gt``/``lt`` strict); numbers or ISO-8601 strings."""

    field: str
    gte: float | str | None = None
    gt: float | str | None = None
    lte: float | str | None = None
    lt: float | str | None = None


@dataclass(frozen=True, slots=True)
class And:
    clauses: tuple[Filter, ...]

    def __init__(self, *clauses: Filter) -> None:
        object.__setattr__(self, "clauses", clauses)


@dataclass(frozen=True, slots=True)
class Or:
    clauses: tuple[Filter, ...]

    def __init__(self, *clauses: Filter) -> None:
        object.__setattr__(self, "clauses", clauses)


@dataclass(frozen=True, slots=True)
class Not:
    clause: Filter


Filter = Eq | Ne | In | AnyOf | Range | And | Or | Not
