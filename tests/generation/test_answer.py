"""The answer pipeline on the real sample store (real retrieval, real MiniLM); the model is scripted where a test
must know what it says: abstention, the claim check and its fallback, streaming order and the trace."""

from __future__ import annotations

from quarry.assembly import Quarry
from quarry.generation import DoneEvent, RevisionEvent, TokenEvent, UsageEvent, load_prompt
from quarry.generation.answer import NO_SUPPORT
from quarry.settings import GenerationSettings
from quarry.types import Message

from .conftest import scripted

LEAVE = "How many days of paid annual leave does every employee get?"
RIGHT = "Every employee gets 27 days of paid annual leave per calendar year [1]."
WRONG_NUMBER = "Every employee gets 30 days of paid annual leave per calendar year [1]."


def _user(messages: tuple[Message, ...]) -> str:
    return next(m.content for m in messages if m.role == "user")


def test_a_correct_answer_passes_the_claim_check_and_is_supported(samples_system: Quarry) -> None:
    made, model, _ = scripted(samples_system, [RIGHT])
    answer = made.answer(LEAVE, "s")
    assert answer.method == "generated" and answer.supported and not answer.abstained
    assert answer.text == RIGHT and all(c.supported for c in answer.claims)
    (citation,) = answer.citations
    assert citation.document_uri.endswith("handbook.md") and "27 days" in citation.quote
    assert "27 days of paid annual leave" in _user(model.calls[0].messages)


def test_a_changed_number_fails_the_check_and_the_source_is_quoted_instead(samples_system: Quarry) -> None:
    made, _, _ = scripted(samples_system, [WRONG_NUMBER])
    events = list(made.stream(LEAVE, "s"))
    answer = events[-1].answer  # type: ignore[union-attr]
    assert answer.method == "extractive" and "27 days" in answer.text and "30" not in answer.text
    assert answer.claims and not answer.claims[0].supported and "30" in answer.claims[0].missing
    assert answer.model_text.startswith("Every employee gets 30 days")
    (revision,) = [e for e in events if isinstance(e, RevisionEvent)]
    assert revision.text == answer.text and "backed" in revision.reason
    assert answer.citations and answer.citations[0].document_uri.endswith("handbook.md")


def test_a_question_about_something_else_abstains_without_calling_the_model(samples_system: Quarry) -> None:
    made, model, _ = scripted(samples_system, [RIGHT])
    off_topic = made.answer("Who won the football world cup in 1966?", "s")
    assert off_topic.abstained and off_topic.text == NO_SUPPORT and off_topic.citations == ()
    another_year = made.answer("How many days of annual leave did employees get in 2019?", "s")
    assert another_year.abstained and "2019" in another_year.abstain_reason
    assert model.calls == []


def test_the_model_saying_it_cannot_answer_is_an_abstention_unless_the_evidence_is_strong(
    samples_system: Quarry,
) -> None:
    made, _, _ = scripted(samples_system, ["I don't know."])
    quoted = made.answer(LEAVE, "s")
    assert quoted.method == "extractive" and "27 days" in quoted.text and "do not answer" in quoted.note
    weak, _, _ = scripted(samples_system, ["I don't know."], supported_score=99.0)
    answer = weak.answer(LEAVE, "s")
    assert answer.abstained and "do not answer" in answer.abstain_reason and answer.citations == ()


def test_settings_and_the_callers_system_message_reach_the_model(samples_system: Quarry) -> None:
    made, model, _ = scripted(samples_system, [RIGHT], k=3, max_tokens=40, max_sources=1)
    answer = made.answer(LEAVE, "s", system="Answer in French.")
    (call,) = model.calls
    assert call.settings is not None and call.settings.max_tokens == 40
    assert call.settings.stop == load_prompt(GenerationSettings().prompt).stop
    system = call.messages[0]
    assert system.role == "system" and system.content.startswith("Answer in French.")
    assert "[1]" in _user(call.messages) and "[2]" not in _user(call.messages)
    assert len(answer.sources) == 1 and len(answer.retrieved) <= 3


def test_extract_mode_quotes_the_evidence_without_a_model(samples_system: Quarry) -> None:
    made, model, _ = scripted(samples_system, [], answer_mode="extract")
    answer = made.answer("What is the daily meal allowance when travelling?", "s")
    assert model.calls == [] and answer.method == "extractive" and "45 EUR" in answer.text and answer.supported


def test_a_follow_up_is_condensed_into_a_standalone_query(samples_system: Quarry) -> None:
    made, _, _ = scripted(samples_system, ["Secondary carers receive 6 weeks [1]."])
    history = [
        Message("user", "How many weeks of parental leave do primary carers get?"),
        Message("assistant", "20 weeks [1]."),
    ]
    answer = made.answer("And secondary carers?", "s", history=history)
    assert answer.query != "And secondary carers?" and "parental" in answer.query
    assert "6 weeks" in answer.text and answer.citations[0].document_uri.endswith("handbook.md")


def test_stream_yields_tokens_then_citations_then_usage_then_done(samples_system: Quarry) -> None:
    made, _, _ = scripted(samples_system, [RIGHT])
    events = list(made.stream(LEAVE, "s"))
    first_other = next(i for i, e in enumerate(events) if not isinstance(e, TokenEvent))
    assert first_other > 3 and all(isinstance(e, TokenEvent) for e in events[:first_other])
    kinds = [type(e).__name__ for e in events[first_other:]]
    assert kinds == ["CitationEvent", "UsageEvent", "DoneEvent"]
    assert isinstance(events[-2], UsageEvent) and isinstance(events[-1], DoneEvent)


def test_the_trace_nests_the_stages_and_a_whole_answer_ends_ok(samples_system: Quarry) -> None:
    made, _, sink = scripted(samples_system, [RIGHT])
    answer = made.answer(LEAVE, "s")
    (trace,) = sink.traces
    assert trace.trace_id == answer.trace_id and trace.kind == "answer"
    assert trace.root.errors == [] and trace.root.status == "ok" and "cancelled" not in trace.root.attributes
    spans = {s.name: s for s in trace.spans}
    root = trace.root.span_id
    assert {spans[n].parent_id for n in ("retrieve", "pack", "llm", "check")} == {root}
    for name in ("embed", "retrieve.dense", "retrieve.bm25", "fuse"):
        assert spans[name].parent_id == spans["retrieve"].span_id, name
    llm = spans["llm"].attributes
    assert llm["prompt_version"] == made.prompt.ref and llm["prompt_tokens"] > 0 and llm["finish_reason"]
    assert spans["check"].attributes["method"] == "generated" and trace.root.attributes["supported"] is True


def test_a_stream_closed_early_is_cancelled_not_failed(samples_system: Quarry) -> None:
    made, _, sink = scripted(samples_system, [RIGHT])
    stream = made.stream(LEAVE, "s")
    next(stream)
    stream.close()
    (trace,) = sink.traces
    assert trace.root.attributes["cancelled"] is True and trace.root.errors == []


def test_a_streamed_answer_cut_inside_its_citation_is_closed_in_the_stream(samples_system: Quarry) -> None:
    """The model stops at "[1" (a stop sequence or token limit); the answer closes the marker, and the stream
    sends the missing "]" as tokens, so what a client printed equals the final answer."""
    made, _, _ = scripted(samples_system, [RIGHT.rsplit("]", 1)[0]])
    events = list(made.stream(LEAVE, "s"))
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.answer.text.endswith("]")
    streamed = "".join(e.text for e in events if isinstance(e, TokenEvent))
    assert not any(type(e).__name__ == "RevisionEvent" for e in events)
    assert streamed == done.answer.text
