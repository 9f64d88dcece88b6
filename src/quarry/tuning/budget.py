"""What every training loop shares: a step/time budget, progress reports, and the loss curve it records."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Budget", "Progress", "ProgressFn", "StepLog"]


@dataclass(frozen=True, slots=True)
class Progress:
    """One optimiser step done: ``step`` of ``total`` (the budget's cap), the loss, and the time left."""

    step: int
    total: int
    loss: float
    elapsed: float
    eta: float


ProgressFn = Callable[[Progress], None]


@dataclass(slots=True)
class Budget:
    """Stop after ``max_steps`` optimiser steps or ``max_seconds`` of training, whichever comes first."""

    max_steps: int
    max_seconds: float | None = None
    started: float = field(default_factory=time.monotonic)

    def exhausted(self, step: int) -> bool:
        if step >= self.max_steps:
            return True
        return self.max_seconds is not None and time.monotonic() - self.started >= self.max_seconds

    def progress(self, step: int, loss: float, done_before: int = 0) -> Progress:
        elapsed = time.monotonic() - self.started
        per_step = elapsed / max(1, step - done_before)
        left = (self.max_steps - step) * per_step
        if self.max_seconds is not None:
            left = min(left, max(0.0, self.max_seconds - elapsed))
        return Progress(step, self.max_steps, loss, elapsed, left)


@dataclass(slots=True)
class StepLog:
    """The loss after every step, kept for the report's loss curve."""

    losses: list[float] = field(default_factory=list)

    def smoothed(self, window: int = 10) -> list[float]:
        out: list[float] = []
        for i in range(len(self.losses)):
            part = self.losses[max(0, i - window + 1) : i + 1]
            out.append(sum(part) / len(part))
        return out
