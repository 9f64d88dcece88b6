"""Re-embed a collection with another embedder into a *shadow* collection, then swap it in atomically.

Search keeps serving the live collection while the shadow fills: documents, chunks, metadata and source states
are copied as they are, only the vectors are new. Before the swap the shadow catches up with whatever was
written to the live collection meanwhile (documents re-upserted since their copy, new or deleted ones); the swap
names the live generation it caught up with, and if another write slipped in between, it catches up again.
After the swap the old vectors live on under the shadow's name (kept for a rollback until garbage-collected).
A kill at any point leaves the live collection whole: the shadow is only ever read after a complete copy, and the
swap is one transaction. Re-running resumes: documents already copied (and unchanged since) are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from quarry.embeddings.base import Embedder
from quarry.errors import CollectionNotFound
from quarry.stores.base import DocumentInfo, DocumentWrite, Store
from quarry.stores.checks import StaleSwap

__all__ = ["ReembedReport", "all_documents", "drop_index", "shadow_name", "swap_in", "sync_shadow"]

PAGE = 500
BATCH_DOCUMENTS = 32
SWAP_ATTEMPTS = 5

OnProgress = Callable[[int, int], None]
"""(documents copied so far, documents to copy)"""


@dataclass(frozen=True, slots=True)
class ReembedReport:
    copied: int  # documents (re-)embedded into the shadow
    deleted: int  # shadow documents no longer in the live collection
    chunks: int
    generation: int  # the live collection's generation the shadow now mirrors


def shadow_name(live: str, version: int) -> str:
    """The collection a registry entry's vectors are built in (and kept in, once swapped out)."""
    return f"{live}~shadow-{version}"


def all_documents(store: Store, collection: str) -> dict[str, DocumentInfo]:
    found: dict[str, DocumentInfo] = {}
    while True:
        page = store.documents(collection, limit=PAGE, offset=len(found))
        found.update((info.uri, info) for info in page)
        if len(page) < PAGE:
            return found


def sync_shadow(
    store: Store, live: str, shadow: str, embedder: Embedder, *, progress: OnProgress | None = None
) -> ReembedReport:
    """Make ``shadow`` mirror ``live`` with ``embedder``'s vectors (creating it); only what changed is embedded."""
    info = store.collection(live)
    store.ensure_collection(shadow, embedder=embedder.model_id, description=info.description)
    generation = info.generation
    source, target = all_documents(store, live), all_documents(store, shadow)
    stale = [uri for uri, doc in source.items() if uri not in target or target[uri].updated_at < doc.updated_at]
    gone = [uri for uri in target if uri not in source]
    chunks = 0
    for start in range(0, len(stale), BATCH_DOCUMENTS):
        writes = [_rewritten(store, live, source[uri], embedder) for uri in stale[start : start + BATCH_DOCUMENTS]]
        kept = [w for w in writes if w is not None]
        chunks += sum(len(w.chunks) for w in kept)
        store.write(shadow, upserts=kept)
        if progress:
            progress(min(start + BATCH_DOCUMENTS, len(stale)), len(stale))
    states = list(store.source_states(live).values())
    dropped = [uri for uri in store.source_states(shadow) if uri not in {s.uri for s in states}]
    store.write(shadow, delete_uris=gone, delete_sources=dropped, states=states)
    return ReembedReport(len(stale), len(gone), chunks, generation)


def _rewritten(store: Store, live: str, info: DocumentInfo, embedder: Embedder) -> DocumentWrite | None:
    document = store.document(live, info.uri)
    if document is None:  # deleted since the listing; the next catch-up removes it from the shadow
        return None
    chunks = store.chunks(live, info.uri) if info.duplicate_of is None else []
    vectors = embedder.embed([c.context for c in chunks])
    return DocumentWrite(document, chunks, vectors, info.duplicate_of)


def swap_in(
    store: Store, live: str, shadow: str, embedder: Embedder, *, progress: OnProgress | None = None
) -> ReembedReport:
    """Catch the shadow up with ``live`` and swap them; retried when a write lands in between."""
    for _ in range(SWAP_ATTEMPTS):
        report = sync_shadow(store, live, shadow, embedder, progress=progress)
        try:
            store.swap_collections(live, shadow, expected_generation=report.generation)
            return report
        except StaleSwap:
            continue
    raise StaleSwap(live, report.generation, store.collection(live).generation)


def drop_index(store: Store, name: str) -> bool:
    """Delete a shadow or kept collection; False when it is already gone."""
    try:
        store.delete_collection(name)
    except CollectionNotFound:
        return False
    return True
