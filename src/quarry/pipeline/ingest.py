"""Ingestion: source → parse → clean → chunk → embed → store, idempotent and sync-safe.

Per source unit (a file, a URL, a row) the store keeps a :class:`SourceState` whose hash covers
the raw bytes *and* the pipeline fingerprint (parser version, chunking settings, embedder id):

- unchanged unit → nothing is parsed, embedded or written;
- changed unit → it is parsed; documents whose text hash is unchanged are skipped; changed ones
  are re-chunked, and only chunks whose content hash is not in the embedding cache are embedded;
  each document's old chunks leave every index in the transaction that adds the new ones;
- failed unit → reported, recorded as failed; its previously stored documents stay queryable;
- ``sync=True`` → units under the source's prefix that it no longer yields are deleted.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator, Sequence

from quarry import __version__
from quarry.chunking import chunk_document
from quarry.embeddings.base import Embedder
from quarry.errors import CollectionNotFound, ParseError
from quarry.ingest.parsers import ParserRegistry
from quarry.ingest.sources import Source, Unreadable
from quarry.pipeline.access import AccessPolicy, label_documents
from quarry.pipeline.batch import PendingBatch
from quarry.pipeline.report import Failure, IngestReport, Progress, ProgressCallback
from quarry.pipeline.screen import IngestScreen
from quarry.settings import AccessSettings, ChunkingSettings
from quarry.stores.base import SourceState, Store
from quarry.tracing import Trace, Tracer
from quarry.types import Chunk, Document, RawDocument, content_hash

__all__ = ["Ingestor", "ParseUnits", "parse_each"]

Parsed = list[Document] | ParseError
ParseUnits = Callable[[Sequence[RawDocument]], list[Parsed]]
"""Parses several units at once (the documents of each, or the error it raised), e.g. on a Ray cluster."""


def parse_each(parsers: ParserRegistry) -> ParseUnits:
    """Parse units one after the other in this process."""

    def parse(items: Sequence[RawDocument]) -> list[Parsed]:
        found: list[Parsed] = []
        for item in items:
            try:
                found.append(parsers.parse(item))
            except ParseError as exc:
                found.append(exc)
        return found

    return parse


class Ingestor:
    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        parsers: ParserRegistry,
        chunking: ChunkingSettings,
        tracer: Tracer,
        *,
        batch_chunks: int = 512,
        access: AccessSettings | None = None,
        screen: IngestScreen | None = None,
        parse_units: ParseUnits | None = None,
        window: int = 1,
        embedders: Callable[[str], Embedder] | None = None,
    ) -> None:
        """``parse_units``/``window``: parse up to ``window`` changed units together with ``parse_units`` (a Ray
        cluster, say); by default each unit is parsed here when its turn comes. ``embedders``: the embedder of a
        model id, for a collection whose vectors another (tuned) embedder made; it is used for that collection."""
        self.embedders = embedders
        self.store, self.embedder, self.parsers, self.chunking, self.tracer = store, embedder, parsers, chunking, tracer
        self.batch_chunks = batch_chunks
        self.parse_units, self.window = parse_units or parse_each(parsers), max(1, window)
        self.access = AccessPolicy(access)
        self.screen = screen
        self.fingerprint = self._fingerprint()

    def _fingerprint(self) -> str:
        return content_hash(
            f"quarry {__version__}|{self.embedder.model_id}|{self.chunking.max_tokens}|{self.chunking.overlap_tokens}"
            f"|access {self.access.fingerprint}|parsers {getattr(self.parsers, 'fingerprint', '')}"
            + (f"|guards {self.screen.fingerprint}" if self.screen is not None else "")
        )

    def for_collection(self, collection: str) -> Ingestor:
        """This ingestor, or a copy with the embedder that made ``collection``'s vectors when that is another."""
        if self.embedders is None:
            return self
        try:
            built_with = self.store.collection(collection).embedder
        except CollectionNotFound:
            return self
        if built_with in (None, self.embedder.model_id):
            return self
        twin = copy.copy(self)
        twin.embedder = self.embedders(built_with)
        twin.fingerprint = twin._fingerprint()
        return twin

    def run(
        self, source: Source, collection: str, *, sync: bool = False, progress: ProgressCallback | None = None
    ) -> IngestReport:
        chosen = self.for_collection(collection)
        if chosen is not self:
            return chosen.run(source, collection, sync=sync, progress=progress)
        began = time.perf_counter()
        notify = progress or _ignore
        self.store.ensure_collection(collection, embedder=self.embedder.model_id)
        report = IngestReport(collection=collection, source=source.describe())
        with self.tracer.trace("ingest", source.describe(), collection=collection, sync=sync) as trace:
            report.trace_id = trace.trace_id
            embedded_before = _embedded(self.embedder)
            _Run(self, collection, trace, report, notify).ingest(source, sync=sync)
            report.chunks_embedded = _embedded(self.embedder) - embedded_before
            report.seconds = time.perf_counter() - began
            trace.root.attributes.update({k: v for k, v in report.as_dict().items() if k != "failures"})
        notify(Progress("done"))
        return report

    def chunk(self, document: Document) -> list[Chunk]:
        return chunk_document(
            document,
            count_tokens=self.embedder.count_tokens,
            max_tokens=self.chunking.max_tokens,
            overlap_tokens=self.chunking.overlap_tokens,
        )


class _Run:
    """One ingest run's working state."""

    def __init__(
        self, ingestor: Ingestor, collection: str, trace: Trace, report: IngestReport, notify: ProgressCallback
    ) -> None:
        self.ingestor, self.collection, self.trace, self.report, self.notify = (
            ingestor,
            collection,
            trace,
            report,
            notify,
        )
        self.store = ingestor.store
        self.batch = PendingBatch(ingestor.store, ingestor.embedder, collection, trace, screen=ingestor.screen)

    def ingest(self, source: Source, *, sync: bool) -> None:
        states = self.store.source_states(self.collection, prefix=source.prefix)
        total = getattr(source, "count", None)
        self.notify(Progress("start", total=total() if callable(total) else None))
        seen: set[str] = set()
        window: list[RawDocument | Unreadable] = []
        for item in self._items(source):
            seen.add(item.uri)
            self.report.seen += 1
            window.append(item)
            if len(window) >= self.ingestor.window:
                self._units(window, states)
                window = []
        self._units(window, states)
        self._flush()
        if sync:
            self._delete_gone([uri for uri in states if uri not in seen])

    def _units(self, items: list[RawDocument | Unreadable], states: dict[str, SourceState]) -> None:
        """Parse the changed units of ``items`` together, then store each in order."""
        keys = {id(item): content_hash(item.raw_hash + self.ingestor.fingerprint) for item in items
                if isinstance(item, RawDocument)}  # fmt: skip
        changed = [item for item in items if isinstance(item, RawDocument) and not _current(states, item, keys)]
        parsed: dict[int, Parsed] = {}
        if changed:
            with self.trace.stage("parse", units=len(changed)):
                parsed = dict(zip(map(id, changed), self.ingestor.parse_units(changed), strict=True))
        for item in items:
            status = self._unit(item, states.get(item.uri), keys.get(id(item), ""), parsed.get(id(item)))
            self.notify(Progress("unit", uri=item.uri, status=status))

    def _items(self, source: Source) -> Iterator[RawDocument | Unreadable]:
        iterator = iter(source)
        while True:
            with self.trace.stage("source") as span:
                item = next(iterator, None)
                if item is None:
                    return
                span.add(units=1, bytes=len(item.data) if isinstance(item, RawDocument) else 0)
            yield item

    def _unit(self, item: RawDocument | Unreadable, state: SourceState | None, key: str, parsed: Parsed | None) -> str:
        if isinstance(item, Unreadable):
            return self._fail(item.uri, item.reason, item.kind, state, raw_hash="")
        if parsed is None:  # unchanged (a unit that failed before is parsed again: its reason is reported afresh)
            self.report.unchanged += 1
            return "unchanged"
        if isinstance(parsed, ParseError):
            return self._fail(item.uri, str(parsed), parsed.reason, state, raw_hash=key)
        self._documents(item.uri, parsed)
        self.batch.states.append(SourceState(item.uri, key, documents=len(parsed), updated_at=time.time()))
        status = "new" if state is None else "changed"
        setattr(self.report, status, getattr(self.report, status) + 1)
        return status

    def _documents(self, source_uri: str, documents: list[Document]) -> None:
        screen = self.ingestor.screen
        if screen is not None:  # personal data redacted before anything is hashed, chunked or stored
            documents = [screen.document(self.collection, d, self.trace) for d in documents]
        documents = label_documents(documents, self.ingestor.access)  # principals count in text_hash
        stored = self.store.document_hashes(self.collection, source_uri)
        for document in documents:
            if stored.get(document.uri) == document.text_hash:
                continue
            duplicate_of = self._duplicate_of(document)
            with self.trace.stage("chunk", documents=1) as span:
                chunks = [] if duplicate_of else self.ingestor.chunk(document)
                span.add(chunks=len(chunks))
            self.report.duplicates += duplicate_of is not None
            self.batch.add(document, chunks, duplicate_of)
            if chunks:
                self.notify(Progress("queued", count=len(chunks)))
            if self.batch.chunk_count >= self.ingestor.batch_chunks:
                self._flush()
        fresh = {d.uri for d in documents}
        gone = [uri for uri in stored if uri not in fresh]
        self.batch.delete_uris.extend(gone)
        self.report.documents_deleted += len(gone)

    def _duplicate_of(self, document: Document) -> str | None:
        found = self.batch.pending_duplicate(document)
        if found is None:
            found = self.store.find_text_hash(self.collection, document.text_hash)
        return found if found != document.uri else None

    def _fail(self, uri: str, reason: str, kind: str, state: SourceState | None, *, raw_hash: str) -> str:
        self.report.failures.append(Failure(uri, reason, kind))
        self.trace.error("parse" if kind != "unreadable" else "source", f"{uri}: {reason}")
        if state is None or state.status != "failed" or state.error != reason or state.raw_hash != raw_hash:
            documents = state.documents if state else 0
            self.batch.states.append(SourceState(uri, raw_hash, "failed", reason, documents, time.time()))
        return "failed"

    def _flush(self) -> None:
        documents, chunks = self.batch.flush(lambda n: self.notify(Progress("embedded", count=n)))
        self.report.documents_written += documents
        self.report.chunks_written += chunks
        if chunks:
            self.notify(Progress("chunks", count=chunks))

    def _delete_gone(self, uris: list[str]) -> None:
        if not uris:
            return
        with self.trace.stage("sync", deleted=len(uris)):
            self.store.write(self.collection, delete_sources=uris)
        self.report.deleted += len(uris)


def _current(states: dict[str, SourceState], item: RawDocument, keys: dict[int, str]) -> bool:
    state = states.get(item.uri)
    return state is not None and state.raw_hash == keys[id(item)] and state.status == "ok"


def _ignore(_: Progress) -> None:
    return None


def _embedded(embedder: Embedder) -> int:
    """Texts the embedder (or the model behind its cache) has really embedded so far."""
    count = getattr(embedder, "embedded", 0)
    return count if isinstance(count, int) else 0
