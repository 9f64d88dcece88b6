"""Run the configured guards on a text at one stage, with the configured actions, and trace every verdict.

:class:`Guardrails` is built from ``[guardrails]`` (per collection: ``for_collection``). ``check(stage, text,
context, trace)`` runs each active guard whose stages include ``stage`` — blocking guards first, then flagging,
then redacting ones, each group in configuration order; a redaction
passes the cleaned text on to the next guard; a block stops there. Each verdict becomes a ``guard.<name>`` span
(stage, score, triggered, action, findings) in the caller's trace, so a refusal is explained in the trace view.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from quarry.guardrails.base import Guard, GuardContext, Stage, Verdict
from quarry.guardrails.injection import InjectionGuard
from quarry.guardrails.pii import PiiGuard
from quarry.guardrails.simple import BannedTermsGuard, GroundednessGuard, LeakageGuard, MaxLengthGuard
from quarry.settings import GuardrailSettings
from quarry.tracing import Trace
from quarry.types import Matrix

__all__ = ["GUARD_DESCRIPTIONS", "Guardrails", "Outcome"]

GUARD_DESCRIPTIONS = {
    "injection": "prompt injection and jailbreaks: rules for known shapes + a probe over MiniLM embeddings",
    "banned_terms": "configured terms and topics, matched through case, look-alikes, leetspeak and spacing",
    "max_length": "questions longer than max_question_chars",
    "pii": "personal data (presidio + spaCy small English); redacts as <TYPE>",
    "groundedness": "answers the claim check does not stand behind",
    "system_prompt_leak": "answers that quote the system prompt",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the guards decided: every verdict, the one that blocked (if any), and the text to go on with."""

    verdicts: tuple[Verdict, ...] = ()
    blocked: Verdict | None = None
    text: str = ""
    flags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def triggered(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.triggered)


class Guardrails:
    def __init__(self, settings: GuardrailSettings, *, embed: Callable[[str], Matrix] | None = None,
                 model_id: str = "") -> None:  # fmt: skip
        self.settings = settings
        self._embed, self._model_id = embed, model_id
        self._built: dict[str, Guard] = {}

    def guard(self, name: str) -> Guard:
        """The guard called ``name`` (built on first use: the pii guard loads spaCy)."""
        if name not in self._built:
            s = self.settings
            makers: dict[str, Callable[[], Guard]] = {
                "injection": lambda: InjectionGuard(self._embed, model_id=self._model_id),
                "banned_terms": lambda: BannedTermsGuard(s.banned.terms, s.banned.topics),
                "max_length": lambda: MaxLengthGuard(s.max_question_chars),
                "pii": lambda: PiiGuard(s.pii.entities, s.pii.min_score),
                "groundedness": GroundednessGuard,
                "system_prompt_leak": LeakageGuard,
            }
            self._built[name] = makers[name]()
        return self._built[name]

    def for_collection(self, collection: str) -> Guardrails:
        settings = self.settings.for_collection(collection)
        if settings is self.settings:
            return self
        scoped = Guardrails(settings, embed=self._embed, model_id=self._model_id)
        scoped._built = self._built  # the same detectors, other choices
        return scoped

    def active(self, stage: Stage) -> list[str]:
        """The guards that run at ``stage``: those that block first, then those that flag, then those that redact,
        so a redaction never hides from a block what it would have found (configuration order otherwise)."""
        names = [n for n in self.settings.guards if stage in self.guard(n).stages]
        order = {"block": 0, "flag": 1, "allow": 1, "redact": 2}
        return sorted(names, key=lambda n: order[self.settings.actions.get(n, "flag")])

    def check(self, stage: Stage, text: str, context: GuardContext, trace: Trace | None = None) -> Outcome:
        verdicts: list[Verdict] = []
        current = text
        for name in self.active(stage):
            verdict = self.guard(name).check(current, context)
            action = self.settings.actions.get(name, "flag") if verdict.triggered else "allow"
            verdict = replace(verdict, action=action)
            verdicts.append(verdict)
            if trace is not None:
                _record(trace, stage, verdict)
            if verdict.triggered and action == "redact" and verdict.text is not None:
                current = verdict.text
            if verdict.blocks:
                return Outcome(tuple(verdicts), verdict, current, _flags(verdicts))
        return Outcome(tuple(verdicts), None, current, _flags(verdicts))


def _flags(verdicts: list[Verdict]) -> tuple[str, ...]:
    return tuple(v.guard for v in verdicts if v.triggered and v.action != "allow")


def _record(trace: Trace, stage: Stage, verdict: Verdict) -> None:
    with trace.stage(f"guard.{verdict.guard}") as span:
        span.attributes.update(stage=stage, action=verdict.action, triggered=verdict.triggered)
        span.attributes["score"] = max(float(span.attributes.get("score", 0.0)), verdict.score)
        if verdict.findings:
            span.attributes["findings"] = ",".join(verdict.findings)
        span.add(checks=1, fired=int(verdict.triggered))
