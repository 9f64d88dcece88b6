"""Metering, budgets and tracing, over the scripted model and the real local model."""

from __future__ import annotations

import pytest

from quarry.errors import BudgetExceeded
from quarry.llm import (
    Budget,
    Budgeted,
    ChatSettings,
    Completion,
    LocalChatModel,
    Metered,
    Price,
    PriceTable,
    TextDelta,
    Traced,
    UsageEvent,
    collect,
    count_messages,
)
from quarry.testing.chat import ScriptedChatModel
from quarry.tracing import Tracer
from quarry.types import Message, Usage

ASK = [Message("user", "Summarise the report.")]
PRICES = PriceTable({"gpt-4o": Price(2.5, 10.0), "scripted": Price(1.0, 2.0)})


def _answer(prompt: int, completion: int, model: str = "gpt-4o-mini") -> Completion:
    return Completion("ok", usage=Usage(prompt, completion, model=model), model=model)


def test_metered_totals_and_cost_follow_usage_times_prices() -> None:
    inner = ScriptedChatModel([_answer(1000, 200), _answer(3000, 400, "other-model")])
    model = Metered(inner, PRICES)
    first = model.complete(ASK)
    model.complete(ASK)
    assert first.usage.cost_usd == pytest.approx((1000 * 2.5 + 200 * 10.0) / 1e6)
    assert model.totals.prompt_tokens == 4000 and model.totals.completion_tokens == 600
    assert model.totals.cost_usd == pytest.approx(first.usage.cost_usd) and model.calls == 2
    assert set(model.by_model) == {"gpt-4o-mini", "other-model"} and not PRICES.knows("other-model")


def test_metered_counts_tokens_when_the_provider_reports_none() -> None:
    model = Metered(ScriptedChatModel([Completion("three short words", model="scripted")]), PRICES)
    done = model.complete(ASK)
    assert done.usage.prompt_tokens == count_messages(ASK) and done.usage.completion_tokens == 3
    assert done.usage.cost_usd == pytest.approx((done.usage.prompt_tokens * 1.0 + 3 * 2.0) / 1e6)


def test_metered_stream_reports_priced_usage(local_model: LocalChatModel) -> None:
    model = Metered(local_model, PriceTable({"smollm2": Price(100.0, 100.0)}))
    events = list(model.stream(ASK, settings=ChatSettings(max_tokens=16, seed=7)))
    (usage,) = [e.usage for e in events if isinstance(e, UsageEvent)]
    assert usage.cost_usd == pytest.approx(usage.total_tokens * 100.0 / 1e6) and model.totals == usage


def test_token_budget_stops_after_a_call_that_exceeded_it() -> None:
    model = Budgeted(ScriptedChatModel(default=_answer(30, 40)), Budget(max_tokens=100))
    model.complete(ASK)
    with pytest.raises(BudgetExceeded) as caught:
        model.complete(ASK)
    assert (caught.value.kind, caught.value.limit, caught.value.spent) == ("tokens", 100, 140)


def test_token_budget_refuses_a_prompt_that_cannot_fit() -> None:
    inner = ScriptedChatModel(default="never")
    model = Budgeted(inner, Budget(max_tokens=10))
    with pytest.raises(BudgetExceeded) as caught:
        model.complete([Message("user", "word " * 50)])
    assert caught.value.spent > 10 and inner.calls == []
    assert model.for_request().budget.spent == Usage()


def test_cost_budget_uses_the_price_table() -> None:
    model = Budgeted(ScriptedChatModel(default=_answer(100_000, 10_000, "gpt-4o")), Budget(max_cost_usd=0.5), PRICES)
    model.complete(ASK)  # 0.25 + 0.10 = 0.35 USD
    with pytest.raises(BudgetExceeded) as caught:
        model.complete(ASK)
    assert caught.value.kind == "cost" and caught.value.spent == pytest.approx(0.70)
    assert "0.7 USD spent of a 0.5 USD limit" in str(caught.value)


def test_streaming_stops_midway_when_the_budget_runs_out(local_model: LocalChatModel) -> None:
    prompt = count_messages(ASK, local_model.model_id)
    model = Budgeted(local_model, Budget(max_tokens=prompt + 5))
    received: list[str] = []
    with pytest.raises(BudgetExceeded) as caught:
        for event in model.stream(ASK, settings=ChatSettings(max_tokens=48, seed=7)):
            if isinstance(event, TextDelta):
                received.append(event.text)
    assert 1 <= len(received) <= 6 and caught.value.spent == prompt + 6
    assert model.budget.spent.total_tokens == prompt + 6


def test_traced_records_an_llm_span(local_model: LocalChatModel) -> None:
    with Tracer().trace("ask", "question") as trace:
        model = Traced(Metered(local_model, PRICES), trace)
        done = model.complete(ASK, settings=ChatSettings(max_tokens=8, seed=7))
        streamed = collect(model.stream(ASK, settings=ChatSettings(max_tokens=8, seed=7)))
    (span,) = [s for s in trace.spans if s.name == "llm"]
    assert span.calls == 2 and span.attributes["model"] == "smollm2"
    total = done.usage.completion_tokens + streamed.usage.completion_tokens
    assert span.attributes["completion_tokens"] == total and span.attributes["ttft_s"] > 0
    assert span.attributes["latency_s"] > 0 and span.duration >= span.attributes["latency_s"] * 0.5


def test_traced_passes_through_without_a_current_trace() -> None:
    model = Traced(ScriptedChatModel(["hi"]), lambda: None)
    assert model.complete(ASK).text == "hi"
