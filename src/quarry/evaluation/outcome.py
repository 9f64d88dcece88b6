"""What an answering system under evaluation reports for one question.

The evaluation layer does not import the answer pipeline: a system under test is any function from a
:class:`~quarry.evaluation.qa.QAItem` to an :class:`AnswerOutcome` (Quarry's own is built by
``quarry.assembly``; ``bench/answers.py`` wraps LlamaIndex the same way), so every system is measured by the
same code. Outcomes round-trip through JSON (:func:`outcome_to_dict` / :func:`outcome_from_dict`) for the
answer cache and stored runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from quarry.evaluation.qa import QAItem

__all__ = [
    "AnswerOutcome",
    "AnswerSystem",
    "CitedSpan",
    "Passage",
    "outcome_from_dict",
    "outcome_to_dict",
]


@dataclass(frozen=True, slots=True)
class Passage:
    """A span of a stored document that the system retrieved or showed the model."""

    document_uri: str
    text: str
    start: int = 0
    end: int = 0


@dataclass(frozen=True, slots=True)
class CitedSpan:
    """One citation: the span it points at, whether the system marked it supported, and whether the quote
    really is ``document.text[start:end]`` (``None`` when the system could not check)."""

    document_uri: str
    quote: str
    start: int = 0
    end: int = 0
    supported: bool = False
    fallback: bool = False
    valid: bool | None = None


@dataclass(frozen=True, slots=True)
class AnswerOutcome:
    """The answer to one question and what it was built from.

    ``retrieved`` are the passages retrieval returned; ``context`` what the model was shown after packing.
    ``supported`` is the system's own verdict on the whole answer; ``truncated`` that it was cut off
    (``finish_reason == "length"``). Times are seconds end to end.
    """

    text: str
    abstained: bool = False
    supported: bool = False
    truncated: bool = False
    citations: tuple[CitedSpan, ...] = ()
    retrieved: tuple[Passage, ...] = ()
    context: tuple[Passage, ...] = ()
    seconds: float = 0.0
    ttft_s: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    model: str = ""
    trace_id: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


AnswerSystem = Callable[[QAItem], AnswerOutcome]
"""A system under test: the question item → its outcome."""


def outcome_to_dict(outcome: AnswerOutcome) -> dict[str, Any]:
    payload = asdict(outcome)
    payload["extra"] = dict(outcome.extra)
    return payload


def outcome_from_dict(data: Mapping[str, Any]) -> AnswerOutcome:
    values = dict(data)
    values["citations"] = tuple(CitedSpan(**c) for c in values.get("citations", ()))
    values["retrieved"] = tuple(Passage(**p) for p in values.get("retrieved", ()))
    values["context"] = tuple(Passage(**p) for p in values.get("context", ()))
    values["extra"] = dict(values.get("extra", {}))
    return AnswerOutcome(**values)
