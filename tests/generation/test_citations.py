"""Citation markers: parsing, invalid numbers, mapping to exact spans, the lexical support check."""

from __future__ import annotations

import pytest

from quarry.generation import pack
from quarry.generation.citations import close_cut_marker, fallback_citations, find_markers, overlap, resolve

from .conftest import HANDBOOK, hit

SOURCES = pack([hit(HANDBOOK[1], 0.9), hit(HANDBOOK[2], 0.5, uri="/docs/b.md", title="B")], budget_tokens=1000)


@pytest.mark.parametrize(
    ("text", "numbers"),
    [("Yes [1].", [(1,)]), ("Yes [1, 2].", [(1, 2)]), ("Yes [1][2].", [(1,), (2,)]), ("x [1;3] y", [(1, 3)])],
)
def test_markers_single_compound_and_runs(text: str, numbers: list[tuple[int, ...]]) -> None:
    assert [m.numbers for m in find_markers(text)] == numbers


def test_valid_markers_map_to_the_chunk_span_and_uri() -> None:
    resolved = resolve("Every employee gets 27 days of paid annual leave [1].", SOURCES)
    (citation,) = resolved.citations
    assert citation.number == 1 and citation.chunk_id == HANDBOOK[1].id
    assert (citation.document_uri, citation.title) == ("/docs/a.md", "Guide A")
    assert (citation.start, citation.end) == (HANDBOOK[1].start, HANDBOOK[1].end)
    assert citation.quote == HANDBOOK[1].text and citation.supported and citation.overlap == 1.0
    assert resolved.removed == ()


def test_invented_numbers_are_removed_and_reported() -> None:
    resolved = resolve("Leave is 27 days [1, 7]. Carers get 20 weeks [2][9]. Nothing [12].", SOURCES)
    assert resolved.text == "Leave is 27 days [1]. Carers get 20 weeks [2]. Nothing."
    assert resolved.removed == (7, 9, 12)
    assert [c.number for c in resolved.citations] == [1, 2]


def test_a_marker_opening_a_sentence_belongs_to_the_previous_one() -> None:
    resolved = resolve("Primary carers receive 20 weeks of parental leave. [2] That is all.", SOURCES)
    (citation,) = resolved.citations
    assert citation.supported and citation.overlap == 1.0


def test_unsupported_citations_are_flagged_not_removed() -> None:
    resolved = resolve("The robot arm lifts 40 kilograms [1].", SOURCES, threshold=0.5)
    (citation,) = resolved.citations
    assert not citation.supported and citation.overlap < 0.5
    assert resolved.text == "The robot arm lifts 40 kilograms [1]."


def test_overlap_ignores_stop_words_markers_and_plurals() -> None:
    assert overlap("The days of leave [1]", "one day of leave") == 1.0
    assert overlap("of the and", "anything") == 0.0


def test_fallback_attaches_the_best_overlapping_source_marked_as_such() -> None:
    (citation,) = fallback_citations("Carers receive 20 weeks of parental leave.", SOURCES, threshold=0.5)
    assert citation.number == 2 and citation.fallback and citation.supported
    assert fallback_citations("Something unrelated entirely.", SOURCES, threshold=0.5) == ()


@pytest.mark.parametrize(
    ("raw", "closed"),
    [
        ("Leave is 27 days [1", "Leave is 27 days [1]"),
        ("[1] [1", "[1] [1]"),
        ("a [1, 2 ", "a [1, 2]"),
        ("a [1].", "a [1]."),
    ],
)
def test_a_marker_cut_by_a_stop_sequence_is_closed(raw: str, closed: str) -> None:
    assert close_cut_marker(raw) == closed
