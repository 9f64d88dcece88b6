"""Turning a broken quarry.toml or environment into one clear error: where, what, and how to fix it."""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from quarry.errors import ConfigError

__all__ = ["explain_validation", "line_of", "missing_secrets", "read_toml", "section_at"]

_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def read_toml(path: Path) -> dict[str, Any]:
    """The parsed file; a syntax error becomes ``file:line:column: problem``."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})", key="config", hint="save it as UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _AT.search(str(exc))
        where = f"{path}:{found[1]}:{found[2]}" if found else str(path)
        problem = _AT.sub("", str(exc)).strip()
        raise ConfigError(
            f"{where}: {problem}", key="config", hint="fix the TOML syntax there (https://toml.io/en/v1.0.0)"
        ) from None


def explain_validation(exc: ValidationError, root: type[BaseModel], path: Path | None) -> ConfigError:
    """Every problem on its own line, with the file line when the key is in ``path`` and a "did you mean"."""
    text = path.read_text(encoding="utf-8") if path is not None and path.is_file() else ""
    lines = []
    for error in exc.errors()[:8]:
        loc = tuple(error["loc"])
        key = ".".join(str(p) for p in loc)
        line = line_of(text, loc) if text else None
        where = f"{path}:{line}: " if line else ""
        if error["type"] == "extra_forbidden":
            lines.append(f"{where}unknown setting {key}{_did_you_mean(root, loc)}")
        else:
            lines.append(f"{where}invalid setting {key}: {error['msg']}")
    first_error = exc.errors()[0]
    first = ".".join(str(p) for p in first_error["loc"])
    env = "QUARRY_" + first.upper().replace(".", "__")
    source = f"{path}" if path is not None and path.is_file() else "quarry.toml"
    if first_error["type"] == "extra_forbidden":
        hint = f"rename or remove it in {source} (or unset {env})"
    else:
        hint = f"fix it in {source} or the {env} variable"
    return ConfigError("\n".join(lines), key=first, hint=hint)


def _did_you_mean(root: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    section = section_at(root, loc[:-1])
    if section is None:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(section.model_fields), n=1, cutoff=0.6)
    known = ", ".join(section.model_fields)
    return f"; did you mean {close[0]}?" if close else f" (known: {known})"


def section_at(root: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The settings model found by walking ``loc`` (field names, dict keys, list indexes) from ``root``."""
    current: Any = root
    parts = list(loc)
    while parts:
        current = _unwrap_optional(current)
        origin = typing.get_origin(current)
        if origin in (dict, list):
            parts.pop(0)  # a dict key or list index
            current = typing.get_args(current)[-1]
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        name = parts.pop(0)
        if not isinstance(name, str) or name not in current.model_fields:
            return None
        current = current.model_fields[name].annotation
    current = _unwrap_optional(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def line_of(text: str, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line where ``loc``'s key is written in the TOML ``text`` (best effort)."""
    if not loc:
        return None
    table, key = ".".join(str(p) for p in loc[:-1]), str(loc[-1])
    current = ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        header = re.fullmatch(r"\[\[?\s*([^\]]+?)\s*\]\]?", line.split("#", 1)[0].strip())
        if header:
            current = header[1].replace('"', "").replace(" ", "")
            if current == ".".join(str(p) for p in loc):
                return number
            continue
        if current == table and re.match(rf"[\"']?{re.escape(key)}[\"']?\s*=", line):
            return number
    return None


def missing_secrets(named: list[tuple[str, str]]) -> ConfigError | None:
    """An error naming every (setting, variable) pair whose environment variable is unset or empty."""
    unset = [(setting, var) for setting, var in named if not os.environ.get(var)]
    if not unset:
        return None
    listed = "; ".join(f"{setting} names {var}, which is not set" for setting, var in unset)
    return ConfigError(
        listed,
        key=unset[0][0],
        hint=f"export {unset[0][1]}=… before starting Quarry, or change {unset[0][0]} in quarry.toml",
    )
