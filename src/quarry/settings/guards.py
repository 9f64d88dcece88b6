"""``[guardrails]``: which guards run, what each does when it fires, per collection."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from quarry.settings.section import Section

__all__ = ["GUARD_NAMES", "BannedSettings", "GuardrailSettings", "PiiSettings"]

GUARD_NAMES = ("injection", "banned_terms", "max_length", "pii", "groundedness", "system_prompt_leak")
Action = Literal["allow", "flag", "redact", "block"]
DEFAULT_ACTIONS: dict[str, Action] = {
    "injection": "block",
    "banned_terms": "block",
    "max_length": "block",
    "pii": "redact",
    "groundedness": "flag",
    "system_prompt_leak": "block",
}


def _known(names: list[str]) -> list[str]:
    unknown = [n for n in names if n not in GUARD_NAMES]
    if unknown:
        import difflib

        hints = [f"{n!r} (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(n, GUARD_NAMES, 1)) else repr(n)
                 for n in unknown]  # fmt: skip
        raise ValueError(f"unknown guard {', '.join(hints)}; known: {', '.join(GUARD_NAMES)}")
    return names


class BannedSettings(Section):
    terms: list[str] = Field(default_factory=list, description="terms refused wherever they appear")
    topics: dict[str, list[str]] = Field(default_factory=dict, description="topic name -> its terms")


class PiiSettings(Section):
    entities: list[str] = Field(default_factory=list, description="presidio entity types; empty = all")
    min_score: float = Field(0.4, ge=0, le=1)
    redact_at_ingest: bool = Field(
        False, description="store documents with personal data replaced (the original is never stored)"
    )


class CollectionGuards(Section):
    """Overrides for one collection (unset = inherit)."""

    guards: list[str] | None = None
    actions: dict[str, Action] | None = None
    retrieval: Literal["quarantine", "spotlight", "off"] | None = None

    _guards = field_validator("guards")(lambda cls, v: None if v is None else _known(v))


class GuardrailSettings(Section):
    """Guards on questions (input), retrieved passages (retrieval, also at ingest) and answers (output)."""

    guards: list[str] = Field(
        default_factory=lambda: ["injection", "max_length", "groundedness", "system_prompt_leak"],
        description=f"guards that run ({', '.join(GUARD_NAMES)}); pii needs quarry[pii]",
    )
    actions: dict[str, Action] = Field(
        default_factory=lambda: dict(DEFAULT_ACTIONS),
        description="what a guard that fires does: allow, flag (record only), redact or block",
    )
    retrieval: Literal["quarantine", "spotlight", "off"] = Field(
        "quarantine",
        description="passages flagged as planted instructions: left out of the answer (quarantine) or shown to the "
        "model delimited and marked as data (spotlight)",
    )
    max_question_chars: int = Field(4000, ge=1)
    banned: BannedSettings = Field(default_factory=lambda: BannedSettings())
    pii: PiiSettings = Field(default_factory=lambda: PiiSettings())
    collections: dict[str, CollectionGuards] = Field(default_factory=dict)

    _guards = field_validator("guards")(lambda cls, v: _known(v))

    @field_validator("actions")
    @classmethod
    def _actions(cls, value: dict[str, Action]) -> dict[str, Action]:
        _known(list(value))
        return value

    def for_collection(self, name: str) -> GuardrailSettings:
        override = self.collections.get(name)
        if override is None:
            return self
        update: dict[str, object] = {"actions": {**self.actions, **(override.actions or {})}}
        if override.guards is not None:
            update["guards"] = override.guards
        if override.retrieval is not None:
            update["retrieval"] = override.retrieval
        return self.model_copy(update=update)
