"""Context packing: best first, adjacent chunks merged by offsets, numbered, within the token budget."""

from __future__ import annotations

from quarry.generation import format_sources, pack
from quarry.llm.tokens import count_tokens

from .conftest import StubStore, chunk, hit

A0 = chunk(0, "Alpha one two three four five six.", 0)
A1 = chunk(1, "five six. Seven eight nine ten.", 25)  # overlaps A0's tail ("five six.")
A2 = chunk(2, "Eleven twelve thirteen.", 57)
A3 = chunk(3, "Fourteen fifteen sixteen.", 81)
B0 = chunk(0, "Bravo document text about something else entirely.", 0, document_id="doc-b", page=3)


def test_adjacent_chunks_of_a_document_merge_into_one_source_without_repeating_overlap() -> None:
    sources = pack([hit(A1, 0.9), hit(A0, 0.8)], budget_tokens=1000)
    assert len(sources) == 1
    (source,) = sources
    assert [c.index for c in source.chunks] == [0, 1]
    assert source.text == "Alpha one two three four five six. Seven eight nine ten."
    assert (source.start, source.end) == (0, A1.end) and source.score == 0.9


def test_sources_are_numbered_best_first_with_title_uri_and_page() -> None:
    sources = pack([hit(A0, 0.5), hit(B0, 0.9, uri="/docs/b.pdf", title="Guide B")], budget_tokens=1000)
    assert [(s.number, s.document_uri) for s in sources] == [(1, "/docs/b.pdf"), (2, "/docs/a.md")]
    block = format_sources(sources)
    assert block.startswith("[1] Guide B, page 3\nBravo") and "\n\n[2] Guide A\nAlpha" in block
    assert format_sources(sources, titles=False).startswith("[1] Bravo")


def test_the_budget_is_respected_and_smaller_later_hits_still_fit() -> None:
    big = chunk(5, "word " * 300, 500)
    hits = [hit(big, 0.95), hit(B0, 0.9, uri="/docs/b.pdf"), hit(A2, 0.5)]
    budget = 40
    sources = pack(hits, budget_tokens=budget)
    assert [s.chunks[0].index for s in sources] == [0, 2]  # the 300-word chunk is skipped
    used = sum(count_tokens(s.header() + "\n" + s.text + "\n\n") for s in sources)
    assert used <= budget
    assert pack(hits, budget_tokens=5) == []


def test_a_one_chunk_gap_is_bridged_from_the_store_when_cheap() -> None:
    store = StubStore({"/docs/a.md": [A0, A1, A2, A3]})
    sources = pack([hit(A0, 0.9), hit(A2, 0.8)], budget_tokens=1000, store=store, collection="c")
    assert len(sources) == 1 and [c.index for c in sources[0].chunks] == [0, 1, 2]
    assert store.calls == ["/docs/a.md"]
    far = pack([hit(A0, 0.9), hit(A3, 0.8)], budget_tokens=1000, store=store, collection="c")
    assert len(far) == 2 and store.calls == ["/docs/a.md"]  # nothing to bridge: no fetch
