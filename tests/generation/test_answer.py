"""The Answerer with a scripted model: abstention, streaming order, citations and the trace."""

from __future__ import annotations

from quarry.generation import Answer, CitationEvent, DoneEvent, TokenEvent, UsageEvent, load_prompt
from quarry.generation.answer import NO_SUPPORT
from quarry.settings import GenerationSettings
from quarry.types import Message

from .conftest import HANDBOOK, answerer, hit

DEFAULT = load_prompt(GenerationSettings().prompt)
GOOD = "Every employee gets 27 days of paid annual leave [1]."


def _user(messages: tuple[Message, ...]) -> str:
    return next(m.content for m in messages if m.role == "user")


def test_weak_retrieval_abstains_without_calling_the_model() -> None:
    made, _, model = answerer([GOOD], hits=[hit(HANDBOOK[0], 0.1)])
    answer = made.answer("capital of Peru?", "c")
    assert answer.abstained and "0.100 < 0.25" in answer.abstain_reason and answer.text == NO_SUPPORT
    assert model.calls == [] and answer.citations == ()


def test_no_hits_abstains_and_the_bm25_floor_is_used_in_bm25_mode() -> None:
    made, searcher, model = answerer([GOOD], hits=[])
    assert made.answer("q", "c").abstain_reason == "no sources found"
    made, searcher, model = answerer([GOOD], hits=[hit(HANDBOOK[1], 2.0)], mode="bm25", min_score_bm25=3.0)
    assert made.answer("q", "c").abstained and searcher.calls[0][3] == "bm25" and model.calls == []


def test_the_model_saying_it_cannot_answer_is_an_abstention() -> None:
    made, _, model = answerer(["I don\u2019t know [1]."])
    answer = made.answer("How long is leave?", "c")
    assert answer.abstained and answer.citations == () and len(model.calls) == 1
    assert "do not answer" in answer.abstain_reason


def test_sources_sit_in_the_user_message_and_settings_reach_the_model() -> None:
    made, searcher, model = answerer([GOOD], k=3, max_tokens=40)
    answer = made.answer("How long is annual leave?", "handbook")
    (call,) = model.calls
    assert "[1] Every employee gets 27 days" in _user(call.messages) and "How long is annual leave?" in _user(
        call.messages
    )
    assert call.settings is not None and call.settings.max_tokens == 40 and call.settings.stop == DEFAULT.stop
    assert searcher.calls == [("How long is annual leave?", "handbook", 3, "dense")]
    assert answer.text == GOOD and answer.prompt_version == DEFAULT.ref and answer.model == "scripted"
    assert [c.number for c in answer.citations] == [1] and answer.citations[0].supported
    assert answer.usage.completion_tokens > 0 and answer.ttft_s is not None and answer.seconds >= answer.ttft_s


def test_stream_yields_tokens_then_citations_then_usage_then_done() -> None:
    made, _, _ = answerer(["Leave is 27 days [1]. Carers get 20 weeks of parental leave [2][5]."])
    events = list(made.stream("leave?", "c"))
    kinds = [type(e).__name__ for e in events]
    first_other = next(i for i, e in enumerate(events) if not isinstance(e, TokenEvent))
    assert first_other > 3 and all(isinstance(e, TokenEvent) for e in events[:first_other])
    assert kinds[first_other:] == ["CitationEvent", "CitationEvent", "UsageEvent", "DoneEvent"]
    done = events[-1]
    assert isinstance(done, DoneEvent) and isinstance(events[-2], UsageEvent)
    assert "".join(e.text for e in events if isinstance(e, TokenEvent)).strip().endswith("[2][5].")
    assert done.answer.removed_citations == (5,) and done.answer.text.endswith("parental leave [2].")
    assert [e.citation for e in events if isinstance(e, CitationEvent)] == list(done.answer.citations)


def test_an_uncited_answer_gets_a_marked_fallback_citation() -> None:
    made, _, _ = answerer(["Every employee gets 27 days of paid annual leave."])
    (citation,) = made.answer("leave?", "c").citations
    assert citation.fallback and citation.number == 1
    off, _, _ = answerer(["Every employee gets 27 days of paid annual leave."], fallback_citations=False)
    assert off.answer("leave?", "c").citations == ()


def _trace_of(answer: Answer, sink_traces: list) -> object:  # type: ignore[type-arg]
    return next(t for t in sink_traces if t.trace_id == answer.trace_id)


def test_every_answer_records_a_trace_with_retrieval_and_an_llm_span() -> None:
    made, searcher, _ = answerer([GOOD])
    answer = made.answer("How long is annual leave?", "c")
    (trace,) = searcher.sink.traces
    assert trace.trace_id == answer.trace_id and trace.kind == "answer"
    spans = {s.name: s for s in trace.spans}
    assert {"retrieve", "pack", "llm", "cite"} <= set(spans)
    assert spans["retrieve"].attributes["hits"] == 2
    assert spans["retrieve.dense"].attributes["hits"] == 2
    llm = spans["llm"].attributes
    assert llm["model"] == "scripted" and llm["prompt_version"] == DEFAULT.ref
    assert llm["prompt_tokens"] > 0 and llm["completion_tokens"] > 0 and llm["ttft_s"] >= 0 and llm["latency_s"] > 0
    assert "cost_usd" in llm and trace.root.attributes["abstained"] is False


def test_an_abstention_is_traced_too() -> None:
    made, searcher, _ = answerer([GOOD], hits=[])
    answer = made.answer("q", "c")
    (trace,) = searcher.sink.traces
    assert trace.trace_id == answer.trace_id and trace.root.attributes["abstained"] is True
    assert "llm" not in {s.name for s in trace.spans}
