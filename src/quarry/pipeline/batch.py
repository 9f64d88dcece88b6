"""Buffer of pending document writes: embedded together, written in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from quarry.embeddings.base import Embedder
from quarry.pipeline.screen import IngestScreen
from quarry.stores.base import DocumentWrite, SourceState, Store
from quarry.tracing import Trace
from quarry.types import Chunk, Document

__all__ = ["EMBED_SLICE", "PendingBatch"]

EMBED_SLICE = 128  # chunks per embedder call when progress is reported (sorted by length inside each)


@dataclass
class _Pending:
    document: Document
    chunks: Sequence[Chunk]
    duplicate_of: str | None


@dataclass
class PendingBatch:
    """Documents, deletions and source states waiting to be written.

    ``flush`` embeds every pending chunk in one embedder call (so batches pack well), then hands
    everything to one atomic ``Store.write``. Source states ride with the flush after all of
    their documents, so a crash before it makes the next run redo that source (and skip the
    documents already written, whose text hashes now match).
    """

    store: Store
    embedder: Embedder
    collection: str
    trace: Trace
    documents: list[_Pending] = field(default_factory=list)
    delete_uris: list[str] = field(default_factory=list)
    states: list[SourceState] = field(default_factory=list)
    text_hashes: dict[str, str] = field(default_factory=dict)
    screen: IngestScreen | None = None

    @property
    def chunk_count(self) -> int:
        return sum(len(p.chunks) for p in self.documents)

    def add(self, document: Document, chunks: Sequence[Chunk], duplicate_of: str | None) -> None:
        self.documents.append(_Pending(document, chunks, duplicate_of))
        if duplicate_of is None:
            self.text_hashes[document.text_hash] = document.uri

    def pending_duplicate(self, document: Document) -> str | None:
        """The uri of a pending document with the same text, if any."""
        uri = self.text_hashes.get(document.text_hash)
        return uri if uri != document.uri else None

    def is_empty(self) -> bool:
        return not (self.documents or self.delete_uris or self.states)

    def flush(self, on_embedded: Callable[[int], None] | None = None) -> tuple[int, int]:
        """Write everything pending; returns (documents written, chunks written).

        ``on_embedded`` hears how many chunks each slice of :data:`EMBED_SLICE` embedded (for progress)."""
        if self.is_empty():
            return 0, 0
        chunks = [c for p in self.documents for c in p.chunks]
        with self.trace.stage("embed", chunks=len(chunks)):
            vectors = self._embed([c.context for c in chunks], on_embedded)
        writes: list[DocumentWrite] = []
        row = 0
        for pending in self.documents:
            rows = vectors[row : row + len(pending.chunks)] if pending.chunks else _empty(self.embedder.dimension)
            screened = pending.chunks
            if self.screen is not None and pending.chunks:
                screened = self.screen.chunks(self.collection, pending.chunks, rows, self.trace)
            writes.append(DocumentWrite(pending.document, screened, rows, pending.duplicate_of))
            row += len(pending.chunks)
        with self.trace.stage("store", documents=len(writes), chunks=len(chunks), deleted=len(self.delete_uris)):
            self.store.write(self.collection, upserts=writes, delete_uris=self.delete_uris, states=self.states)
        written = len(writes), len(chunks)
        self.documents, self.delete_uris, self.states = [], [], []
        self.text_hashes.clear()
        return written

    def _embed(self, texts: list[str], on_embedded: Callable[[int], None] | None) -> np.ndarray[Any, Any]:
        if on_embedded is None or len(texts) <= EMBED_SLICE:
            vectors = self.embedder.embed(texts)
            if on_embedded is not None:
                on_embedded(len(texts))
            return vectors
        parts = []
        for start in range(0, len(texts), EMBED_SLICE):
            parts.append(self.embedder.embed(texts[start : start + EMBED_SLICE]))
            on_embedded(len(parts[-1]))
        return np.concatenate(parts)


def _empty(dimension: int) -> np.ndarray[tuple[int, int], np.dtype[np.float32]]:
    return np.zeros((0, dimension), dtype=np.float32)
