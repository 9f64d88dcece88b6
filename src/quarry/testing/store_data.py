"""Data and helpers shared by the store conformance suite: hashed vectors, documents to write,
filter cases with their expected matches, hostile full-text queries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from quarry.stores.base import DocumentWrite
from quarry.stores.filters import And, Eq, Filter, In, Ne, Not, Or, Range
from quarry.testing.embedders import HashEmbedder
from quarry.types import Chunk, Document, Matrix, PageSpan, freeze

__all__ = ["ALL", "EMBEDDER", "EMPTY_QUERIES", "FILTER_CASES", "FILTER_DOCS", "HOSTILE_QUERIES", "make_write", "texts"]

EMBEDDER = HashEmbedder(64)

HOSTILE_QUERIES: tuple[str, ...] = (
    '"',
    '"unbalanced phrase',
    "AND OR NOT",
    "foo*",
    "*",
    "a:b",
    "text:river",
    "(",
    "a AND (b OR",
    "NEAR(river salmon)",
    "-river ^salmon +x",
    "'; DROP TABLE chunks; --",
    "naïve café Ünïcödé 日本語",
    "emoji 🦊 river",
    "x" * 3000,
    "\x00\x01",
)
EMPTY_QUERIES: tuple[str, ...] = ("", "   ", "🦊🐟", "!!! ??? ...", '"" ()')

# uri, source_uri, title, metadata — for the filter cases below.
FILTER_DOCS: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("mem://a/1", "mem://a", "Alpha", {"lang": "en", "year": 2019, "date": "2019-05-01", "draft": True}),
    ("mem://a/2", "mem://a", "Beta", {"lang": "de", "year": 2020, "date": "2020-01-15", "draft": False}),
    ("mem://b/3", "mem://b", "Gamma", {"lang": "en", "year": 2021, "date": "2021-07-30", "draft": None}),
    ("mem://b/4", "mem://b", "Delta", {"lang": "fr", "year": "2022", "date": "2022-03-03", "draft": 1}),
    ("mem://c/5", "mem://c", "Epsilon", {}),
)
ALL = {1, 2, 3, 4, 5}
FILTER_CASES: tuple[tuple[Filter, set[int]], ...] = (
    (Eq("lang", "en"), {1, 3}),
    (Ne("lang", "en"), {2, 4, 5}),
    (In("lang", ("de", "fr")), {2, 4}),
    (In("lang", ()), set()),
    (Range("year", gte=2020), {2, 3}),
    (Range("year", gt=2019, lt=2021), {2}),
    (Range("date", gte="2020-01-01", lte="2021-12-31"), {2, 3}),
    (Eq("draft", True), {1}),
    (Eq("draft", 1), {4}),
    (Eq("draft", None), {3, 5}),
    (Ne("draft", None), {1, 2, 4}),
    (Eq("year", "2022"), {4}),
    (Eq("year", 2022), set()),
    (Eq("uri", "mem://a/2"), {2}),
    (Eq("source_uri", "mem://b"), {3, 4}),
    (In("title", ("Alpha", "Gamma")), {1, 3}),
    (Range("uri", gte="mem://b"), {3, 4, 5}),
    (And(Eq("lang", "en"), Range("year", gte=2020)), {3}),
    (Or(Eq("lang", "de"), Eq("title", "Epsilon")), {2, 5}),
    (Not(Or(Eq("lang", "en"), Eq("lang", "de"))), {4, 5}),
    (And(), ALL),
    (Or(), set()),
    (Eq("missing", "x"), set()),
    (Not(Eq("missing", "x")), ALL),
)


def make_write(
    uri: str,
    paragraphs: Sequence[str],
    *,
    source_uri: str | None = None,
    title: str = "",
    metadata: Mapping[str, Any] | None = None,
    duplicate_of: str | None = None,
    vectors: Matrix | None = None,
) -> DocumentWrite:
    """A document whose chunks are its paragraphs, with HashEmbedder vectors."""
    text = "\n\n".join(paragraphs)
    doc = Document(uri, source_uri or uri, text, title, (PageSpan(1, 0, len(text)),), freeze(metadata))
    chunks: list[Chunk] = []
    position = 0
    for index, paragraph in enumerate([] if duplicate_of else paragraphs):
        start = text.index(paragraph, position)
        position = start + len(paragraph)
        chunks.append(Chunk(doc.id, index, paragraph, start, position, ("Intro",), 1, len(paragraph.split())))
    if vectors is None:
        vectors = EMBEDDER.embed([c.context for c in chunks])
    return DocumentWrite(doc, chunks, vectors, duplicate_of)


def texts(hits: Sequence[Any]) -> list[str]:
    return [hit.chunk.text for hit in hits]
