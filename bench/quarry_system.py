"""Quarry under test, through its own code: ingest (FileSource → parse → chunk → embed → SQLite)
and ``Searcher.search``.

* ``quarry``: the default settings (200-token chunks, parent-document BM25 with k1 0.9 / b 0.4,
  exact dense, z-score fusion of documents scored exactly on both paths) and each retrieval
  configuration the project measures.
* ``quarry-doclevel``: the issue's document-level baselines through the same code: the corpus is
  ingested with a chunk budget larger than any SciFact abstract, so each document ("# title" +
  abstract) is one chunk, which MiniLM truncates at its 256-token limit. ``Searcher`` in dense, bm25
  and hybrid-RRF mode then gives the doc-level dense, BM25 and RRF(k=60) baselines, with BM25 at
  bm25s's defaults (k1 1.5, b 0.75) as in the issue's runs.

Fresh runs ingest into a temporary store with the embedding cache off, so the index time includes
every embedding. ``reuse`` opens the stores kept in bench/_work instead (never writing to them).
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from pathlib import Path

from measure import Built, Config, Search, Stopwatch
from quarry.assembly import Quarry, build
from quarry.evaluation import hits_to_doc_ids
from quarry.ingest.sources import FileSource
from quarry.retrieval.search import Searcher
from quarry.settings import (
    ChunkingSettings,
    EmbeddingSettings,
    RetrievalSettings,
    Settings,
    StoreSettings,
    TracingSettings,
)
from quarry.stores.base import Store
from quarry.stores.sqlite import SQLiteStore
from quarry.tracing import Tracer

COLLECTION = "scifact"
BM25S_DEFAULTS = {"bm25_k1": 1.5, "bm25_b": 0.75}  # the bm25s baseline
CHUNK_FUSION = {"fusion_unit": "chunk"}
# name → (retrieval settings, store settings other than the default's)
CONFIGS: dict[str, tuple[RetrievalSettings, dict[str, float]]] = {
    "bm25 (parent-document, k1 0.9 b 0.4)": (RetrievalSettings(mode="bm25"), {}),
    "bm25 (parent-document, bm25s's k1 1.5 b 0.75)": (RetrievalSettings(mode="bm25"), BM25S_DEFAULTS),
    "dense (MiniLM int8, exact)": (RetrievalSettings(mode="dense"), {}),
    "hybrid RRF k=60, chunk fusion": (RetrievalSettings(mode="hybrid", fusion="rrf", **CHUNK_FUSION), {}),
    "hybrid z-score 0.5, chunk fusion": (RetrievalSettings(mode="hybrid", **CHUNK_FUSION), {}),
    "hybrid min-max 0.5": (RetrievalSettings(mode="hybrid", fusion="minmax"), {}),
    "hybrid z-score 0.5 (default)": (RetrievalSettings(mode="hybrid", fusion="zscore"), {}),
}
DOCLEVEL_CONFIGS: dict[str, tuple[RetrievalSettings, dict[str, float]]] = {
    "doc-level bm25": (RetrievalSettings(mode="bm25"), BM25S_DEFAULTS),
    "doc-level dense": (RetrievalSettings(mode="dense"), {}),
    "doc-level RRF k=60": (RetrievalSettings(mode="hybrid", fusion="rrf", **CHUNK_FUSION), BM25S_DEFAULTS),
}
# larger than any SciFact document: one chunk per document (MiniLM itself truncates at 256 tokens)
DOCLEVEL_CHUNKING = ChunkingSettings(max_tokens=1_000_000, overlap_tokens=0)


def searcher_search(searcher: Searcher) -> Search:
    def search(query: str, k: int) -> list[str]:
        hits = searcher.search(query, COLLECTION, k=k).hits
        return hits_to_doc_ids(hits, lambda hit: hit.document_uri.rsplit("#", 1)[1])

    return search


def open_or_ingest(
    corpus: Path, kept: Path, chunking: ChunkingSettings, reuse: bool, stack: ExitStack
) -> tuple[Quarry, float, bool]:
    """A Quarry holding the corpus, the seconds it took to build, and whether it was reused.

    ``reuse`` opens ``kept`` when it exists (nothing is written to it) and otherwise ingests there
    once; a fresh run ingests into a temporary folder. The build time covers the ingest plus the
    first BM25 and dense query, which load the in-memory indexes that every later query uses.
    """
    if reuse and kept.exists():
        quarry = build(Settings(store=StoreSettings(path=kept), chunking=chunking))
        stack.callback(quarry.close)
        return quarry, 0.0, True
    if reuse:
        kept.parent.mkdir(parents=True, exist_ok=True)
        path = kept
    else:
        path = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="quarry-bench-"))) / "quarry.db"
    settings = Settings(
        store=StoreSettings(path=path),
        chunking=chunking,
        embeddings=EmbeddingSettings(cache=False),
        tracing=TracingSettings(enabled=False),
    )
    quarry = build(settings)
    stack.callback(quarry.close)
    with Stopwatch() as watch:
        quarry.ingestor.run(FileSource(corpus, max_bytes=10**10), COLLECTION)
        Searcher(quarry.store, quarry.embedder, Tracer(), RetrievalSettings()).search("warm up", COLLECTION, k=1)
    return quarry, watch.seconds, False


def build_quarry(corpus: Path, kept: Path, reuse: bool, stack: ExitStack, *, doclevel: bool = False) -> Built:
    chunking = DOCLEVEL_CHUNKING if doclevel else ChunkingSettings()
    quarry, seconds, reused = open_or_ingest(corpus, kept, chunking, reuse, stack)
    stats = quarry.store.collection(COLLECTION)
    stores = {"": quarry.store}

    def store_for(overrides: dict[str, float]) -> Store:
        key = repr(sorted(overrides.items()))
        if key not in stores:  # a second handle on the same file, with other BM25 parameters
            stores[key] = SQLiteStore(quarry.store.path, **overrides)  # type: ignore[arg-type]
            stack.callback(stores[key].close)
        return stores[key if overrides else ""]

    configs = [
        Config(name, searcher_search(Searcher(store_for(overrides), quarry.embedder, Tracer(), settings)))
        for name, (settings, overrides) in (DOCLEVEL_CONFIGS if doclevel else CONFIGS).items()
    ]
    where = f"reused store {kept}" if reused else "fresh store, embedding cache off"
    notes = [f"{where}: {stats.documents} documents, {stats.chunks} chunks"]
    return Built(configs, seconds, reused, notes)
