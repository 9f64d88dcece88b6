"""``quarry config show``: each setting in effect and where it came from (file, environment, default)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from quarry.settings.diagnose import read_toml

__all__ = ["EffectiveSetting", "effective_settings", "mask"]

Origin = Literal["file", "env", "default"]
_SECRET_KEY = re.compile(r"(token|password|secret|api_key)$", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+@", re.IGNORECASE)


@dataclass(frozen=True)
class EffectiveSetting:
    key: str
    value: Any
    origin: Origin
    note: str = ""


def effective_settings(settings: BaseModel, config: Path) -> list[EffectiveSetting]:
    """One row per leaf setting, values masked where they could hold a secret."""
    in_file = read_toml(config) if config.is_file() else {}
    rows: list[EffectiveSetting] = []
    for key, value in _leaves(settings.model_dump(mode="json")):
        rows.append(EffectiveSetting(key, mask(key, value), _origin(key, in_file), _note(key, value)))
    return rows


def _leaves(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{prefix}.{k}" if prefix else k)]
    return [(prefix, value)]


def _origin(key: str, in_file: dict[str, Any]) -> Origin:
    parts = key.split(".")
    for depth in range(len(parts), 0, -1):  # an env variable may set a whole section or one key
        if os.environ.get("QUARRY_" + "__".join(parts[:depth]).upper()) is not None:
            return "env"
    node: Any = in_file
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return "default"
        node = node[part]
    return "file"


def mask(key: str, value: Any) -> Any:
    """``value`` with secrets hidden: keys named like tokens/passwords, and passwords inside URLs."""
    if isinstance(value, str):
        if _SECRET_KEY.search(key.rsplit(".", 1)[-1]) and value:
            return "***"
        return _URL_PASSWORD.sub(r"\g<head>***@", value)
    return value


def _note(key: str, value: Any) -> str:
    if key.endswith("api_key_env") and isinstance(value, str) and value:
        return "variable set" if os.environ.get(value) else "variable not set"
    return ""
