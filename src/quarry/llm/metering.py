"""Usage accounting: :class:`Metered` totals tokens and cost; :class:`Budgeted` enforces a budget.

Both wrap any :class:`ChatModel`. Token counts come from the provider's usage report; when a provider
reports none (both counts zero), they are counted with quicktok (:mod:`quarry.llm.tokens`). Cost comes
from a :class:`~quarry.llm.pricing.PriceTable` keyed by the model that answered (``Usage.model``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from quarry.errors import BudgetExceeded
from quarry.llm.base import ChatModel, ChatSettings, Completion, StreamEvent, TextDelta, ToolSpec, UsageEvent
from quarry.llm.pricing import PriceTable
from quarry.llm.tokens import count_messages, count_tokens
from quarry.llm.wrappers import Delegating
from quarry.types import Message, Usage

__all__ = ["Budget", "Budgeted", "Metered", "find_prices"]


class Metered(Delegating):
    """Fills ``Usage.cost_usd`` (and missing token counts) and keeps running totals, thread-safely."""

    def __init__(self, inner: ChatModel, prices: PriceTable | None = None) -> None:
        super().__init__(inner)
        self.prices = prices or PriceTable()
        self._lock = threading.Lock()
        self._totals = Usage()
        self._by_model: dict[str, Usage] = {}
        self.calls = 0

    @property
    def totals(self) -> Usage:
        """Everything used so far, summed over models (``model`` is the first model seen)."""
        with self._lock:
            return self._totals

    @property
    def by_model(self) -> dict[str, Usage]:
        with self._lock:
            return dict(self._by_model)

    def _account(self, usage: Usage, messages: Sequence[Message], text: str) -> Usage:
        model = usage.model or self.inner.model_id
        if usage.total_tokens == 0 and (messages or text):
            usage = Usage(count_messages(messages, model), count_tokens(text, model), model=usage.model)
        usage = self.prices.priced(usage, model)
        with self._lock:
            self.calls += 1
            self._totals = self._totals + usage
            self._by_model[model] = self._by_model.get(model, Usage(model=model)) + usage
        return usage

    def complete(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Completion:
        done = self.inner.complete(messages, settings=settings, tools=tools, response_schema=response_schema)
        return replace(done, usage=self._account(done.usage, messages, done.text))

    def stream(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Iterator[StreamEvent]:
        events = self.inner.stream(messages, settings=settings, tools=tools, response_schema=response_schema)
        return self._metered(events, messages)

    def _metered(self, events: Iterator[StreamEvent], messages: Sequence[Message]) -> Iterator[StreamEvent]:
        parts: list[str] = []
        for event in events:
            if isinstance(event, TextDelta):
                parts.append(event.text)
            elif isinstance(event, UsageEvent):
                event = UsageEvent(self._account(event.usage, messages, "".join(parts)))
            yield event


class Budget:
    """A running allowance of tokens and/or USD (``None`` = unlimited), shared thread-safely by calls."""

    def __init__(self, *, max_tokens: int | None = None, max_cost_usd: float | None = None) -> None:
        self.max_tokens = max_tokens
        self.max_cost_usd = max_cost_usd
        self.spent = Usage()
        self._lock = threading.Lock()

    def fresh(self) -> Budget:
        """The same limits with nothing spent (one per request)."""
        return Budget(max_tokens=self.max_tokens, max_cost_usd=self.max_cost_usd)

    def check(self, tokens: int, cost: float) -> None:
        """Raise if ``tokens``/``cost`` more than already spent would exceed a limit."""
        with self._lock:
            spent_tokens, spent_cost = self.spent.total_tokens + tokens, self.spent.cost_usd + cost
        if self.max_tokens is not None and spent_tokens > self.max_tokens:
            raise BudgetExceeded("tokens", limit=self.max_tokens, spent=spent_tokens)
        if self.max_cost_usd is not None and spent_cost > self.max_cost_usd:
            raise BudgetExceeded("cost", limit=self.max_cost_usd, spent=spent_cost)

    def record(self, usage: Usage) -> None:
        """Add ``usage`` to what was spent."""
        with self._lock:
            self.spent = self.spent + usage

    def charge(self, usage: Usage) -> None:
        """Record ``usage``; raise if that took the budget past a limit."""
        self.record(usage)
        self.check(0, 0.0)


class Budgeted(Delegating):
    """Enforces ``budget`` over every call made through it.

    Before a call, the prompt is counted (quicktok) and priced: if that alone would take the budget past
    its limit, :class:`~quarry.errors.BudgetExceeded` is raised without calling. After a call, its usage is
    charged and the error is raised if the limit was passed (``spent`` says by how much). A stream counts
    its deltas as they arrive and stops with the error as soon as the running total passes the limit
    (charging the budget with what the cut-off stream used).
    Use :meth:`for_request` to get a wrapper with a fresh budget per request.
    """

    def __init__(self, inner: ChatModel, budget: Budget, prices: PriceTable | None = None) -> None:
        super().__init__(inner)
        self.budget = budget
        self.prices = prices or PriceTable()

    def for_request(self) -> Budgeted:
        return Budgeted(self.inner, self.budget.fresh(), self.prices)

    def _estimate(self, messages: Sequence[Message]) -> Usage:
        prompt = count_messages(messages, self.inner.model_id)
        return self.prices.priced(Usage(prompt, 0, model=self.inner.model_id))

    def _charge(self, usage: Usage) -> None:
        self.budget.charge(usage if usage.cost_usd else self.prices.priced(usage))

    def complete(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Completion:
        estimate = self._estimate(messages)
        self.budget.check(estimate.total_tokens, estimate.cost_usd)
        done = self.inner.complete(messages, settings=settings, tools=tools, response_schema=response_schema)
        self._charge(done.usage)
        return done

    def stream(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Iterator[StreamEvent]:
        estimate = self._estimate(messages)
        self.budget.check(estimate.total_tokens, estimate.cost_usd)
        events = self.inner.stream(messages, settings=settings, tools=tools, response_schema=response_schema)
        return self._guarded(events, estimate)

    def _guarded(self, events: Iterator[StreamEvent], estimate: Usage) -> Iterator[StreamEvent]:
        completion_tokens = 0
        price = self.prices.price(estimate.model)
        try:
            for event in events:
                if isinstance(event, TextDelta):
                    completion_tokens += count_tokens(event.text, estimate.model)
                    running = Usage(estimate.prompt_tokens, completion_tokens, model=estimate.model)
                    try:
                        self.budget.check(running.total_tokens, price.cost(running.prompt_tokens, completion_tokens))
                    except BudgetExceeded:
                        self.budget.record(self.prices.priced(running))  # what the cut-off stream used
                        raise
                elif isinstance(event, UsageEvent):
                    self._charge(event.usage)
                yield event
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()


def find_prices(model: object) -> PriceTable | None:
    """The price table of the :class:`Metered` wrapper in ``model``'s chain (None when it is not metered)."""
    for _ in range(16):
        if isinstance(model, Metered):
            return model.prices
        inner = getattr(model, "inner", None)
        if inner is None:
            return None
        model = inner
    return None
