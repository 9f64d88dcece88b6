"""The ingest pipeline's guard point (implemented by ``quarry.guardrails.ingest``, injected by assembly).

``document`` runs on each parsed document before it is chunked — personal data is redacted here when
``[guardrails.pii] redact_at_ingest`` is on, so the original text never reaches the store, and chunk offsets,
pages and citations all refer to the redacted text. ``chunks`` runs on each document's chunks once they are
embedded and returns them with ``flags`` set (``injection`` for planted instructions), which the store keeps
and search and answers show. ``fingerprint`` is part of the ingest fingerprint: changing the guards re-screens
every source on the next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from quarry.tracing import Trace
from quarry.types import Chunk, Document, Matrix

__all__ = ["IngestScreen"]


class IngestScreen(Protocol):
    @property
    def fingerprint(self) -> str: ...

    def document(self, collection: str, document: Document, trace: Trace) -> Document: ...

    def chunks(self, collection: str, chunks: Sequence[Chunk], vectors: Matrix, trace: Trace) -> list[Chunk]: ...
