"""What a run may spend and what it has spent: steps, tokens, cost, seconds of work and calls per tool.

:class:`Spend` is saved with the run (``AgentRun.spent``), so limits hold across a pause for approval and a
restart. :meth:`Spend.exceeded` names the first limit reached as a :class:`~quarry.errors.BudgetExceeded`;
:meth:`Spend.repeated` counts identical calls — the same tool with the same arguments — for loop detection.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from quarry.errors import BudgetExceeded
from quarry.settings import AgentSettings
from quarry.types import Usage

__all__ = ["Limits", "Spend"]


@dataclass(frozen=True, slots=True)
class Limits:
    max_steps: int = 8
    max_tokens: int = 30_000
    max_cost_usd: float | None = None
    max_wall_s: float = 300.0
    max_calls_per_tool: int = 5
    max_repeats: int = 2
    max_invalid_arguments: int = 2

    @classmethod
    def from_settings(cls, settings: AgentSettings) -> Limits:
        return cls(settings.max_steps, settings.max_tokens, settings.max_cost_usd, settings.max_wall_s,
                   settings.max_calls_per_tool, settings.max_repeats, settings.max_invalid_arguments)  # fmt: skip


@dataclass
class Spend:
    steps: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    calls: dict[str, int] = field(default_factory=dict)
    repeats: dict[str, int] = field(default_factory=dict)
    invalid_in_a_row: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def charge(self, usage: Usage) -> None:
        self.steps += 1
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.cost_usd += usage.cost_usd

    def exceeded(self, limits: Limits) -> BudgetExceeded | None:
        """The first limit this spend has reached (checked before each model call), else None."""
        checks: list[tuple[str, float | None, float]] = [
            ("steps", limits.max_steps, self.steps),
            ("tokens", limits.max_tokens, self.tokens),
            ("cost_usd", limits.max_cost_usd, self.cost_usd),
            ("wall_s", limits.max_wall_s, self.seconds),
        ]
        for kind, limit, spent in checks:
            if limit is not None and spent >= limit:
                return BudgetExceeded(kind, limit=limit, spent=spent, hint=f"raise [agents] max_{kind}")
        return None

    def count_call(self, tool: str, arguments: Mapping[str, Any], limits: Limits) -> BudgetExceeded | None:
        """Count a call about to run; the limit it would break (calls of this tool, or the same call again)."""
        signature = f"{tool} {json.dumps(arguments, sort_keys=True, default=str)}"
        if self.calls.get(tool, 0) >= limits.max_calls_per_tool:
            return BudgetExceeded(f"calls:{tool}", limit=limits.max_calls_per_tool, spent=self.calls[tool],
                                  hint="raise [agents] max_calls_per_tool")  # fmt: skip
        if self.repeats.get(signature, 0) >= limits.max_repeats:
            return BudgetExceeded("loop", limit=limits.max_repeats, spent=self.repeats[signature],
                                  hint=f"the model asked for the same call again: {signature[:200]}")  # fmt: skip
        self.calls[tool] = self.calls.get(tool, 0) + 1
        self.repeats[signature] = self.repeats.get(signature, 0) + 1
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps, "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
            "tokens": self.tokens, "cost_usd": round(self.cost_usd, 8), "seconds": round(self.seconds, 3),
            "calls": dict(self.calls), "repeats": dict(self.repeats), "invalid_in_a_row": self.invalid_in_a_row,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Spend:
        return cls(
            int(data.get("steps", 0)), int(data.get("prompt_tokens", 0)), int(data.get("completion_tokens", 0)),
            float(data.get("cost_usd", 0.0)), float(data.get("seconds", 0.0)), dict(data.get("calls", {})),
            dict(data.get("repeats", {})), int(data.get("invalid_in_a_row", 0)),
        )  # fmt: skip
