"""The base of every settings section: unknown keys are an error (with a "did you mean")."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Section"]


class Section(BaseModel):
    """A ``[section]`` of quarry.toml; a misspelt key is refused rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")
