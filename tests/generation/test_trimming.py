"""Trimming a source that does not fit: the best-matching run of sentences, still an exact span."""

from __future__ import annotations

from quarry.generation import pack
from quarry.generation.trimming import sentence_spans, trim_chunk
from quarry.llm.tokens import count_tokens

from .conftest import ESSAY, chunk, hit

DOCUMENT = (
    "# Leave policy\n\nStaff may carry over five days into the next year. "
    "Core hours are 10:00 to 16:00 local time. Meetings should avoid Fridays. "
    "Every employee gets 27 days of paid annual leave per calendar year. "
    "Requests go to your manager two weeks ahead."
)
WHOLE = chunk(0, DOCUMENT, 100)


def test_sentences_are_exact_spans_without_whitespace() -> None:
    spans = sentence_spans(DOCUMENT)
    assert DOCUMENT[slice(*spans[0])] == "# Leave policy"
    assert DOCUMENT[slice(*spans[2])] == "Core hours are 10:00 to 16:00 local time."
    assert all(DOCUMENT[s:e] == DOCUMENT[s:e].strip() for s, e in spans)


def test_trimming_keeps_the_sentences_that_match_the_question_as_an_exact_span() -> None:
    trimmed = trim_chunk(WHOLE, "How many days of annual leave does an employee get?", 20)
    assert trimmed is not None and "27 days of paid annual leave" in trimmed.text
    assert count_tokens(trimmed.text) <= 20 and "Core hours" not in trimmed.text
    assert DOCUMENT[trimmed.start - 100 : trimmed.end - 100] == trimmed.text
    assert trimmed.id == WHOLE.id


def test_nothing_fits_means_no_trimmed_chunk() -> None:
    assert trim_chunk(WHOLE, "annual leave", 1) is None


def test_pack_trims_with_a_question_and_skips_without_one() -> None:
    text = ESSAY.read_text(encoding="utf-8")[:3000]
    big = chunk(0, text, 0)
    assert pack([hit(big, 0.9)], budget_tokens=120) == []
    (source,) = pack([hit(big, 0.9)], budget_tokens=120, question="What did the author write in school?")
    assert count_tokens(source.header() + "\n" + source.text + "\n\n") <= 120
    assert text[source.start : source.end] == source.text and len(source.text) < len(text) // 3
