"""Prices per million tokens and the cost of a :class:`~quarry.types.Usage`.

Prices come from configuration (``llm.prices``), never from a built-in list that goes stale. A model is
looked up by exact name, then by the longest configured prefix (``gpt-4o`` prices ``gpt-4o-2024-08-06``);
``provider:`` prefixes are ignored. Local models and unknown models cost nothing — :meth:`PriceTable.knows`
tells the two apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from quarry.types import Usage

__all__ = ["Price", "PriceTable"]


@dataclass(frozen=True, slots=True)
class Price:
    prompt_per_mtok: float = 0.0
    completion_per_mtok: float = 0.0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prompt_per_mtok + completion_tokens * self.completion_per_mtok) / 1e6


FREE = Price()


class PriceTable:
    """Model name (or prefix) → :class:`Price`."""

    def __init__(self, prices: Mapping[str, Price] | None = None) -> None:
        self._prices = dict(prices or {})

    @classmethod
    def from_config(cls, prices: Mapping[str, object]) -> PriceTable:
        """Build from ``llm.prices`` entries (objects with ``prompt_per_mtok``/``completion_per_mtok``)."""
        table: dict[str, Price] = {}
        for model, entry in prices.items():
            table[model] = Price(
                float(getattr(entry, "prompt_per_mtok", 0.0)), float(getattr(entry, "completion_per_mtok", 0.0))
            )
        return cls(table)

    def _find(self, model: str) -> Price | None:
        name = model.split(":", 1)[1] if ":" in model else model
        for candidate in (model, name):
            if candidate in self._prices:
                return self._prices[candidate]
        prefixes = [p for p in self._prices if name.startswith(p)]
        return self._prices[max(prefixes, key=len)] if prefixes else None

    def knows(self, model: str) -> bool:
        return self._find(model) is not None

    def price(self, model: str) -> Price:
        return self._find(model) or FREE

    def cost(self, usage: Usage, model: str = "") -> float:
        """USD for ``usage``, priced as ``model`` (default ``usage.model``)."""
        return self.price(model or usage.model).cost(usage.prompt_tokens, usage.completion_tokens)

    def priced(self, usage: Usage, model: str = "") -> Usage:
        """``usage`` with ``cost_usd`` filled in from this table."""
        return replace(usage, cost_usd=self.cost(usage, model))
