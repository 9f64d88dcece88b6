"""Builders for hits and chunks, a stub store for packing, and the real systems the answer tests run on."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from quarry.assembly import Quarry, build
from quarry.embeddings import Embedder
from quarry.generation import Answerer
from quarry.ingest.sources import FileSource, FolderSource
from quarry.retrieval.search import Searcher
from quarry.settings import (
    GenerationSettings,
    LLMSettings,
    LocalModelSettings,
    Settings,
    StoreSettings,
)
from quarry.testing.chat import ScriptedChatModel
from quarry.tracing import Trace, Tracer
from quarry.types import Chunk, Hit
from tests.conftest import DATASETS, MARKITDOWN_FILES

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


SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture(scope="module")
def samples_system(tmp_path_factory: pytest.TempPathFactory, minilm: Embedder) -> Iterator[Quarry]:
    """A real system (SQLite store, MiniLM, hybrid retrieval) holding the bundled samples in collection "s";
    tests swap its chat model for a scripted one where they need to know what the model says."""
    folder = tmp_path_factory.mktemp("samples")
    quarry = build(Settings(store=StoreSettings(path=folder / "quarry.db")))
    quarry.__dict__["embedder"] = minilm
    report = quarry.ingestor.run(FolderSource(SAMPLES, max_bytes=10**7), "s")
    assert report.ok
    yield quarry
    quarry.close()


def scripted(
    quarry: Quarry, script: Sequence[str], **generation: object
) -> tuple[Answerer, ScriptedChatModel, ListSink]:
    """An Answerer over ``quarry``'s real store and searcher whose model says ``script`` (in order)."""
    model = ScriptedChatModel(script)
    sink = ListSink()
    tracer = Tracer([sink])
    searcher = Searcher(quarry.store, quarry.embedder, tracer, quarry.settings.retrieval)
    made = Answerer(searcher, quarry.store, model, settings=GenerationSettings(**generation), tracer=tracer)
    return made, model, sink


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


@pytest.fixture(scope="module")
def report_system(tmp_path_factory: pytest.TempPathFactory, minilm: Embedder) -> Iterator[Quarry]:
    """A real system over markitdown's inventory reconciliation report (a PDF with a title block and a table),
    answering by quoting its evidence (no model call)."""
    yield from _quoting_system(tmp_path_factory, minilm, "SPARSE-2024-INV-1234_borderless_table.pdf")


@pytest.fixture(scope="module")
def receipt_system(tmp_path_factory: pytest.TempPathFactory, minilm: Embedder) -> Iterator[Quarry]:
    """The same over markitdown's retail receipt PDF (store, items, cashier, return policy)."""
    yield from _quoting_system(tmp_path_factory, minilm, "RECEIPT-2024-TXN-98765_retail_purchase.pdf")


def _quoting_system(factory: pytest.TempPathFactory, minilm: Embedder, name: str) -> Iterator[Quarry]:
    folder = factory.mktemp("quoting")
    settings = Settings(store=StoreSettings(path=folder / "quarry.db"), generation={"answer_mode": "extract"})
    quarry = build(settings)
    quarry.__dict__["embedder"] = minilm
    assert quarry.ingestor.run(FileSource(MARKITDOWN_FILES / name, max_bytes=10**7), "r").ok
    yield quarry
    quarry.close()
