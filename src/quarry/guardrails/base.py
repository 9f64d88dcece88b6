"""The guard seam: ``Guard.check(text, context) -> Verdict``.

A guard looks at one text at one stage — a question or chat message (``input``), a retrieved passage
(``retrieval``, also at ingest), or an answer (``output``) — and says what it found (``score`` 0..1, ``reason``)
and what to do (``action``): ``allow``, ``flag`` (let it through, record it), ``redact`` (let a cleaned text
through, ``Verdict.text``) or ``block`` (refuse). The action comes from configuration, per guard and per
collection; a guard only scores. Verdicts are recorded as trace spans by :class:`~quarry.guardrails.Guardrails`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

__all__ = ["ACTIONS", "STAGES", "Action", "Guard", "GuardContext", "Stage", "Verdict"]

Action = Literal["allow", "flag", "redact", "block"]
Stage = Literal["input", "retrieval", "output"]
ACTIONS: tuple[Action, ...] = ("allow", "flag", "redact", "block")
STAGES: tuple[Stage, ...] = ("input", "retrieval", "output")


@dataclass(frozen=True, slots=True)
class GuardContext:
    """What a guard may need besides the text: the stage, the collection, the question being answered, the
    system prompt the model was given, and whether the answer was supported by its sources."""

    stage: Stage
    collection: str = ""
    question: str = ""
    system_prompt: str = ""
    supported: bool | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """``triggered`` when the guard found something (score at or above its threshold); ``action`` is what the
    configuration says to do then (``allow`` when nothing was found); ``text`` is the redacted text for
    ``redact``; ``findings`` name what was found (entity types, matched terms, rules)."""

    guard: str
    triggered: bool
    score: float = 0.0
    action: Action = "allow"
    reason: str = ""
    text: str | None = None
    findings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def blocks(self) -> bool:
        return self.triggered and self.action == "block"


class Guard(Protocol):
    """One check. ``name`` is how configuration and traces refer to it; ``stages`` where it may run."""

    @property
    def name(self) -> str: ...

    @property
    def stages(self) -> tuple[Stage, ...]: ...

    def check(self, text: str, context: GuardContext) -> Verdict:
        """Score ``text`` (the action is filled in from configuration by the caller)."""
        ...
