"""Versioned prompt templates, stored as TOML files beside this module and addressed ``name@version``.

A template lives in ``prompts/<name>@<version>.toml`` (shipped as package data) with::

    description = "what changed in this version"
    system = "…"                      # the system message
    user = "…{sources}…{question}…"   # the user message; sources sit here (small models cite better)
    abstain_marker = "I don't know"   # the phrase the prompt asks for when the sources do not answer
    source_titles = true              # "[1] title, page 2" header lines (false: "[1] text…", better for SmolLM2)
    stop = ["\n\n"]                  # optional stop sequences (cut a small model's rambling)

``{sources}`` and ``{question}`` are the only placeholders (substituted literally, so braces in documents
are safe). A template is selected by configuration (``generation.prompt = "answer@2"``); versions are never
edited once shipped — a change is a new version, so traces and evaluations name exactly what ran.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from quarry.errors import ConfigError
from quarry.types import Message

__all__ = ["PromptTemplate", "available_prompts", "load_prompt"]

_PACKAGE = "quarry.generation"
_FOLDER = "prompts"
_NAME = re.compile(r"^(?P<name>[a-z][a-z0-9_-]*)@(?P<version>[0-9]+)$")
DEFAULT_ABSTAIN_MARKER = "I don't know"


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    name: str
    version: int
    system: str
    user: str
    description: str = ""
    abstain_marker: str = DEFAULT_ABSTAIN_MARKER
    source_titles: bool = True
    stop: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        """``name@version``, as recorded on answers and traces."""
        return f"{self.name}@{self.version}"

    def render(self, question: str, sources: str) -> list[Message]:
        """The conversation for ``question`` over the formatted ``sources`` block."""
        user = self.user.replace("{sources}", sources).replace("{question}", question.strip())
        messages = [Message("user", user)]
        return [Message("system", self.system.strip()), *messages] if self.system.strip() else messages


def _files() -> dict[str, str]:
    folder = resources.files(_PACKAGE).joinpath(_FOLDER)
    return {
        entry.name.removesuffix(".toml"): entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".toml") and _NAME.match(entry.name.removesuffix(".toml"))
    }


def available_prompts() -> list[str]:
    """Every shipped ``name@version``, sorted by name then version."""
    return sorted(_files(), key=lambda ref: (ref.split("@")[0], int(ref.split("@")[1])))


@cache
def load_prompt(ref: str) -> PromptTemplate:
    """The template ``name@version`` (``name`` alone = its latest version); ConfigError lists what exists."""
    files = _files()
    if "@" not in ref:
        versions = [r for r in available_prompts() if r.split("@")[0] == ref]
        ref = versions[-1] if versions else ref
    if ref not in files:
        raise ConfigError(
            f"no prompt template {ref!r}",
            key="generation.prompt",
            hint="available: " + ", ".join(available_prompts()),
        )
    data = tomllib.loads(files[ref])
    match = _NAME.match(ref)
    assert match is not None
    for required in ("system", "user"):
        if not isinstance(data.get(required), str):
            raise ConfigError(f"prompt {ref} has no {required!r} text", key="generation.prompt")
    return PromptTemplate(
        name=match["name"],
        version=int(match["version"]),
        system=data["system"],
        user=data["user"],
        description=str(data.get("description", "")),
        abstain_marker=str(data.get("abstain_marker", DEFAULT_ABSTAIN_MARKER)),
        source_titles=bool(data.get("source_titles", True)),
        stop=tuple(str(x) for x in data.get("stop", ())),
    )
