"""The commented quarry.toml that ``quarry init`` writes: every section and key, with its default."""

from __future__ import annotations

import json
import re
import textwrap
import typing
from pathlib import Path
from typing import Any

import tomlkit
from pydantic import BaseModel

__all__ = ["commented_settings"]

HEADER = """\
# Quarry settings. Every key below is commented out and shows its default: uncomment a line to change it.
# Environment variables override this file: QUARRY_<SECTION>__<KEY>, e.g. QUARRY_STORE__PATH=/data/quarry.db.
# Secrets never go here: settings name the environment variable that holds them (api_key_env).
# `quarry config show` prints the settings in effect and where each came from.
"""


def commented_settings(settings: BaseModel) -> str:
    """``settings`` (normally the defaults) as TOML: a ``[section]`` per model, each key commented with its meaning."""
    out = [HEADER]
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, BaseModel):
            _table(out, name, value)
    return "\n".join(out).rstrip() + "\n"


def _table(out: list[str], path: str, model: BaseModel) -> None:
    out.append(f"[{path}]")
    nested: list[tuple[str, BaseModel]] = []
    for key, field in type(model).model_fields.items():
        value = getattr(model, key)
        if isinstance(value, BaseModel):
            nested.append((f"{path}.{key}", value))
            continue
        out.extend(_comment(field.description, field.annotation))
        out.append(f"# {key} = {_toml(value)}" if value is not None else f"# {key} = …   (no default)")
    out.append("")
    for sub_path, sub in nested:
        _table(out, sub_path, sub)


def _comment(description: str | None, annotation: Any) -> list[str]:
    choices = _choices(annotation)
    text = (description or "").rstrip(".")
    if choices:
        text = f"{text}. One of: {choices}" if text else f"One of: {choices}"
    return [f"## {line}" for line in textwrap.wrap(text, width=100)] if text else []


def _choices(annotation: Any) -> str:
    for candidate in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(candidate) is typing.Literal:
            return ", ".join(str(v) for v in typing.get_args(candidate))
    return ""


def _toml(value: Any) -> str:
    return _render(_plain(value))


def _render(value: Any) -> str:
    """TOML for a value on one line (dicts as inline tables, so a commented line holds all of it)."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        keys = (k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k) for k in value)
        return "{ " + ", ".join(f"{k} = {_render(v)}" for k, v in zip(keys, value.values(), strict=True)) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    return str(tomlkit.item(value).as_string())


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
