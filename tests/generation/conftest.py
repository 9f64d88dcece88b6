"""Builders for hits and sources, a stub searcher/store, and the real systems the end-to-end tests use."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from quarry.assembly import Quarry, build
from quarry.embeddings import Embedder
from quarry.generation import Answerer
from quarry.ingest.sources import FileSource
from quarry.retrieval.search import SearchResult
from quarry.settings import (
    GenerationSettings,
    LLMSettings,
    LocalModelSettings,
    Settings,
    StoreSettings,
)
from quarry.stores.filters import Filter
from quarry.testing.chat import ScriptedChatModel
from quarry.tracing import Trace, Tracer
from quarry.types import Chunk, Hit
from tests.conftest import DATASETS

ESSAY = DATASETS / "paul-graham-essay" / "data" / "paul_graham" / "paul_graham_essay.txt"
DOC = "doc-a"


def chunk(index: int, text: str, start: int, *, document_id: str = DOC, page: int | None = None) -> Chunk:
    return Chunk(document_id, index, text, start, start + len(text), ("Guide",), page)


def hit(c: Chunk, score: float, uri: str = "/docs/a.md", title: str = "Guide A") -> Hit:
    return Hit(c, score, uri, title, retriever="dense")


class ListSink:
    def __init__(self) -> None:
        self.traces: list[Trace] = []

    def save_trace(self, trace: Trace) -> None:
        self.traces.append(trace)


@dataclass
class StubSearcher:
    """Returns fixed hits; records its calls. Stands in for :class:`quarry.retrieval.search.Searcher`."""

    hits: list[Hit]
    tracer: Tracer = field(default_factory=lambda: Tracer([ListSink()]))
    calls: list[tuple[str, str, int, str]] = field(default_factory=list)

    def search(
        self,
        query: str,
        collection: str,
        *,
        k: int = 10,
        mode: str = "dense",
        where: Filter | None = None,
        trace: Trace | None = None,
    ) -> SearchResult:
        self.calls.append((query, collection, k, mode))
        if trace is not None:  # like the real searcher: its stages go into the caller's trace
            with trace.stage(f"retrieve.{mode}", hits=len(self.hits[:k])):
                pass
        return SearchResult(query, collection, mode, self.hits[:k], 0.001, trace.trace_id if trace else "search")

    @property
    def sink(self) -> ListSink:
        sink = self.tracer.sinks[0]
        assert isinstance(sink, ListSink)
        return sink


@dataclass
class StubStore:
    """Only what packing needs: a document's chunks in order."""

    documents: dict[str, list[Chunk]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def chunks(self, collection: str, document_uri: str) -> list[Chunk]:
        self.calls.append(document_uri)
        return self.documents.get(document_uri, [])


HANDBOOK = [
    chunk(0, "Core hours are 10:00 to 16:00 local time.", 0),
    chunk(1, "Every employee gets 27 days of paid annual leave per calendar year.", 43),
    chunk(0, "Primary carers receive 20 weeks of parental leave at full pay.", 0, document_id="doc-b"),
]


def answerer(
    script: Sequence[str], hits: Sequence[Hit] | None = None, **settings: object
) -> tuple[Answerer, StubSearcher, ScriptedChatModel]:
    searcher = StubSearcher(
        list(hits if hits is not None else [hit(HANDBOOK[1], 0.7), hit(HANDBOOK[2], 0.4, uri="/docs/b.md", title="B")])
    )
    model = ScriptedChatModel(script)
    made = Answerer(searcher, StubStore(), model, settings=GenerationSettings(**settings))  # type: ignore[arg-type]
    return made, searcher, model


@pytest.fixture(scope="module")
def essay_system(tmp_path_factory: pytest.TempPathFactory, minilm: Embedder) -> Iterator[Quarry]:
    """A real system (SQLite, MiniLM, local SmolLM2) holding the Paul Graham essay in collection "pg"."""
    folder = tmp_path_factory.mktemp("essay")
    settings = Settings(
        store=StoreSettings(path=folder / "quarry.db"),
        llm=LLMSettings(local=LocalModelSettings(n_threads=1, n_ctx=2048)),
        generation=GenerationSettings(max_tokens=64),
    )
    quarry = build(settings)
    quarry.__dict__["embedder"] = minilm
    quarry.ingestor.run(FileSource(ESSAY, max_bytes=10**7), "pg")
    yield quarry
    quarry.close()


def essay_path() -> Path:
    return ESSAY
