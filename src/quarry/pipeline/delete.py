"""Deleting by uri, the one way the CLI and the API both do it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from quarry.stores.base import DocumentStore

__all__ = ["Deleted", "delete_uris"]


@dataclass(frozen=True)
class Deleted:
    sources: tuple[str, ...]  # uris that named a whole source (a file, an upload, a URL): all its documents went
    documents: tuple[str, ...]  # uris that named one document


def delete_uris(store: DocumentStore, collection: str, uris: Iterable[str]) -> Deleted:
    """Delete each uri in one write: a source uri takes every document of that source, others one document."""
    targets = list(dict.fromkeys(uris))
    sources = tuple(t for t in targets if t in store.source_states(collection, prefix=t))
    documents = tuple(t for t in targets if t not in sources)
    store.write(collection, delete_sources=list(sources), delete_uris=list(documents))
    return Deleted(sources, documents)
