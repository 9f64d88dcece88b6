"""Guardrails on every path in and out: questions (input), retrieved passages (retrieval, also at ingest) and
answers (output). See :mod:`quarry.guardrails.base` for the seam and :mod:`quarry.guardrails.runner` for how the
configured guards run."""

from quarry.guardrails.base import ACTIONS, STAGES, Action, Guard, GuardContext, Stage, Verdict
from quarry.guardrails.injection import InjectionGuard, rule_matches
from quarry.guardrails.links import neutralise_links
from quarry.guardrails.runner import GUARD_DESCRIPTIONS, Guardrails, Outcome

__all__ = [
    "ACTIONS",
    "GUARD_DESCRIPTIONS",
    "STAGES",
    "Action",
    "Guard",
    "GuardContext",
    "Guardrails",
    "InjectionGuard",
    "Outcome",
    "Stage",
    "Verdict",
    "neutralise_links",
    "rule_matches",
]
