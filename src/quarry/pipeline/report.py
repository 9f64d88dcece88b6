"""What an ingest run tells its caller: progress events while it runs, a report at the end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Failure", "IngestReport", "Progress", "ProgressCallback"]


@dataclass(frozen=True, slots=True)
class Failure:
    uri: str
    reason: str
    kind: str


SKIP_KINDS = frozenset({"unsupported-format", "binary", "too-large", "outside", "not-a-file", "excluded"})
"""Failure kinds that are deliberate skips (not documents Quarry reads) rather than broken inputs."""


@dataclass
class IngestReport:
    """Counts are of source units (files, URLs, rows) unless they say documents or chunks."""

    collection: str
    source: str
    seen: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    failures: list[Failure] = field(default_factory=list)
    documents_written: int = 0
    documents_deleted: int = 0
    duplicates: int = 0
    chunks_written: int = 0
    chunks_embedded: int = 0
    seconds: float = 0.0
    trace_id: str = ""

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def skipped(self) -> list[Failure]:
        """Units left out on purpose: unsupported formats, binary content, over the size limit, not a file."""
        return [f for f in self.failures if f.kind in SKIP_KINDS]

    @property
    def broken(self) -> list[Failure]:
        """Units that should have been read but could not be (parse errors, unreadable, HTTP errors)."""
        return [f for f in self.failures if f.kind not in SKIP_KINDS]

    @property
    def ok(self) -> bool:
        """Nothing broken (skips alone are fine; ``strict`` callers check :attr:`failures`)."""
        return not self.broken

    def as_dict(self) -> dict[str, object]:
        return {
            "collection": self.collection,
            "source": self.source,
            "seen": self.seen,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "failed": self.failed,
            "skipped": len(self.skipped),
            "broken": len(self.broken),
            "documents_written": self.documents_written,
            "documents_deleted": self.documents_deleted,
            "duplicates": self.duplicates,
            "chunks_written": self.chunks_written,
            "chunks_embedded": self.chunks_embedded,
            "seconds": round(self.seconds, 3),
            "trace_id": self.trace_id,
            "failures": [{"uri": f.uri, "reason": f.reason, "kind": f.kind} for f in self.failures],
        }


@dataclass(frozen=True, slots=True)
class Progress:
    """One progress event: ``kind`` is ``"start"`` (with ``total`` units if known), ``"unit"``
    (one source unit done, ``status`` new/changed/unchanged/failed), ``"queued"`` (``count`` chunks
    waiting to be embedded), ``"embedded"`` (``count`` of them embedded), ``"chunks"`` (``count``
    chunks stored) or ``"done"``."""

    kind: str
    uri: str = ""
    status: str = ""
    count: int = 0
    total: int | None = None


ProgressCallback = Callable[[Progress], None]
