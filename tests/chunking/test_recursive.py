"""chunk_document on real documents and on handmade ones."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import pytest

from quarry.chunking import chunk_document
from quarry.embeddings import MiniLMEmbedder
from quarry.types import Chunk, Document, PageSpan

from .test_sections import HANDBOOK

Count = Callable[[str], int]


@pytest.fixture(scope="module")
def count(minilm: object) -> Count:
    assert isinstance(minilm, MiniLMEmbedder)
    return minilm.count_tokens


def scifact(datasets: Path, limit: int | None = None) -> list[Document]:
    docs: list[Document] = []
    with gzip.open(datasets / "scifact/corpus.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            text = f"# {row['title']}\n\n{row['text']}"
            docs.append(Document(uri=f"scifact:{row['_id']}", source_uri="scifact", text=text, title=row["title"]))
            if limit is not None and len(docs) == limit:
                break
    return docs


def check(doc: Document, chunks: list[Chunk], count: Count, max_tokens: int) -> None:
    """The invariants every chunking must keep."""
    covered = bytearray(len(doc.text))
    for i, chunk in enumerate(chunks):
        assert chunk.index == i
        assert chunk.document_id == doc.id
        assert chunk.text == doc.text[chunk.start : chunk.end]
        assert chunk.text and chunk.text == chunk.text.strip()
        assert chunk.token_count == count(chunk.text) <= max_tokens
        assert chunk.page == doc.page_at(chunk.start)
        covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)
    missed = [i for i, char in enumerate(doc.text) if not covered[i] and not char.isspace()]
    assert not missed, f"uncovered text at {missed[:5]}: {doc.text[missed[0] : missed[0] + 40]!r}"


def check_overlap(doc: Document, chunks: list[Chunk], count: Count, overlap: int) -> None:
    for previous, chunk in pairwise(chunks):
        if chunk.heading_path != previous.heading_path or chunk.start >= previous.end:
            continue
        assert chunk.start > previous.start
        assert doc.text[chunk.start - 1].isspace()  # starts at a word
        assert count(doc.text[chunk.start : previous.end]) <= overlap


def real_documents(datasets: Path) -> list[Document]:
    essay = datasets / "paul-graham-essay/data/paul_graham/paul_graham_essay.txt"
    readme = datasets / "documents/unstructured/example-docs/README.md"
    codeblock = datasets / "documents/unstructured/example-docs/codeblock.md"
    files = [Document(uri=str(p), source_uri=str(p), text=p.read_text()) for p in (essay, readme, codeblock)]
    return [*files, *scifact(datasets, 40)]


@pytest.mark.parametrize(("max_tokens", "overlap"), [(200, 24), (64, 16), (32, 0), (256, 0)])
def test_invariants_on_real_documents(datasets: Path, count: Count, max_tokens: int, overlap: int) -> None:
    for doc in real_documents(datasets):
        chunks = chunk_document(doc, count_tokens=count, max_tokens=max_tokens, overlap_tokens=overlap)
        check(doc, chunks, count, max_tokens)
        check_overlap(doc, chunks, count, overlap)


def test_overlap_is_used_when_asked(datasets: Path, count: Count) -> None:
    essay = real_documents(datasets)[0]
    with_overlap = chunk_document(essay, count_tokens=count, max_tokens=100, overlap_tokens=20)
    without = chunk_document(essay, count_tokens=count, max_tokens=100, overlap_tokens=0)
    assert sum(b.start < a.end for a, b in pairwise(with_overlap)) > len(with_overlap) // 2
    assert all(b.start >= a.end for a, b in pairwise(without))


def test_whole_scifact_corpus(datasets: Path, count: Count) -> None:
    docs = scifact(datasets)
    assert len(docs) == 5183
    chunked = [chunk_document(doc, count_tokens=count, max_tokens=200, overlap_tokens=24) for doc in docs]
    for doc, chunks in zip(docs, chunked, strict=True):
        assert chunks and all(c.text == doc.text[c.start : c.end] and c.token_count <= 200 for c in chunks)
        assert all(c.heading_path == (doc.title.strip(),) for c in chunks)
    assert 2.0 < sum(map(len, chunked)) / len(docs) < 3.0


def test_heading_paths_on_handmade_markdown(count: Count) -> None:
    doc = Document(uri="mem://handbook", source_uri="mem://handbook", text=HANDBOOK)
    chunks = chunk_document(doc, count_tokens=count, max_tokens=200, overlap_tokens=0)
    assert [c.heading_path for c in chunks] == [
        (),
        ("Handbook",),
        ("Handbook", "Leave", "Sick leave"),  # the bare "## Leave" heading travels with its child
        ("Handbook", "Leave", "Holiday"),
        ("Handbook", "Pay"),
        ("Appendix",),
    ]
    assert chunks[2].text.startswith("## Leave\n\n### Sick leave")
    assert "# not a heading" in chunks[2].text
    assert chunks[0].text == "Preamble before any heading."
    check(doc, chunks, count, 200)


def test_small_budget_splits_within_sections(count: Count) -> None:
    doc = Document(uri="mem://handbook", source_uri="mem://handbook", text=HANDBOOK)
    chunks = chunk_document(doc, count_tokens=count, max_tokens=4, overlap_tokens=1)
    check(doc, chunks, count, 4)
    sick = [c for c in chunks if c.heading_path[-1:] == ("Sick leave",)]
    assert len(sick) > 2
    assert all(doc.text.find("### Holiday") >= c.end for c in sick)  # never crosses into the next section


def test_pages_come_from_page_spans(count: Count) -> None:
    pages = ["First page talks about apples. " * 20, "Second page is about pears. " * 20, "Third: plums. " * 20]
    text = "\n\n".join(pages)
    spans, start = [], 0
    for number, page in enumerate(pages, 1):
        spans.append(PageSpan(number, start, start + len(page) + 2))
        start += len(page) + 2
    doc = Document(uri="mem://pdf", source_uri="mem://pdf", text=text, pages=tuple(spans))
    chunks = chunk_document(doc, count_tokens=count, max_tokens=60, overlap_tokens=8)
    check(doc, chunks, count, 60)
    assert {c.page for c in chunks} == {1, 2, 3}
    assert all(c.page == 2 for c in chunks if "pears" in c.text[:12])


def test_hard_cut_and_non_additive_counters() -> None:
    doc = Document(uri="mem://blob", source_uri="mem://blob", text="x" * 1000 + " tail " + "ab" * 300)
    chunks = chunk_document(doc, count_tokens=len, max_tokens=50, overlap_tokens=10)
    check(doc, chunks, len, 50)

    def quarter(text: str) -> int:
        return (len(text) + 3) // 4

    essay_like = Document(uri="mem://e", source_uri="mem://e", text="Sentence number one here. " * 200)
    check(essay_like, chunk_document(essay_like, count_tokens=quarter, max_tokens=30, overlap_tokens=5), quarter, 30)


def test_edge_inputs(count: Count) -> None:
    for text in ["", "   \n\n\t", "# Only a heading", "#", "one word"]:
        doc = Document(uri="mem://e", source_uri="mem://e", text=text)
        chunks = chunk_document(doc, count_tokens=count, max_tokens=16, overlap_tokens=4)
        check(doc, chunks, count, 16)
        assert bool(chunks) == bool(text.strip())
    with pytest.raises(ValueError, match="overlap"):
        chunk_document(doc, count_tokens=count, max_tokens=16, overlap_tokens=16)


def test_deterministic(datasets: Path, count: Count) -> None:
    for doc in real_documents(datasets)[:5]:
        first = chunk_document(doc, count_tokens=count, max_tokens=120, overlap_tokens=20)
        assert first == chunk_document(doc, count_tokens=count, max_tokens=120, overlap_tokens=20)
