"""Context expansion: widen each hit to the passage around it, as an exact span of its document.

A chunk is cut to fit the embedder, not the reader: the sentence that explains a hit is often in the
chunk before or after it, or elsewhere in the same section. :func:`expand_hits` returns, for each hit,
a contiguous run of its document's chunks:

- ``window=n`` allows up to ``n`` chunks on each side of the hit;
- ``section=True`` allows only chunks of the hit's section (every chunk whose heading path starts with
  the hit's heading path, cut to ``level`` headings when given; a document without headings is one
  section); with ``window=None`` that is the whole section;
- ``max_chars`` caps the span (``end - start``); chunks are added nearest first, alternating after and
  before the hit, until the next one would not fit. The hit's own chunk is always kept.

Runs of one document that overlap or touch are merged into one :class:`ExpandedHit` carrying all their
hits, so two hits next to each other come back as one passage, never as two overlapping ones (that
merged passage may exceed ``max_chars``: the cap is per hit). The text is ``document.text[start:end]``
exactly, overlap between chunks appears once, and the offsets stay valid for citations. Only the
hits' documents are read: one ``Store.chunks`` call per document, and ``Store.document`` only when a
passage crosses a gap between chunks (the whitespace around a section break), since chunks tile the
rest of the text themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from quarry.errors import ConfigError
from quarry.stores.base import Store
from quarry.types import Chunk, Hit

__all__ = ["ExpandedHit", "expand_hits", "expand_in_document"]


@dataclass(frozen=True, slots=True)
class ExpandedHit:
    """A passage of one document around one or more hits: ``text == document.text[start:end]``.

    ``hits`` are every hit merged into the passage, best first (``hit`` is the first); ``chunk_indexes``
    are the indexes of the chunks the passage covers, in document order. A frozen value rather than a
    wider :class:`Hit`, so search results stay unchanged and a caller (answer packing, the API) chooses
    when to pay for context.
    """

    hits: tuple[Hit, ...]
    text: str
    start: int
    end: int
    chunk_indexes: tuple[int, ...]

    @property
    def hit(self) -> Hit:
        return self.hits[0]

    @property
    def score(self) -> float:
        return self.hits[0].score

    @property
    def document_uri(self) -> str:
        return self.hits[0].document_uri

    @property
    def title(self) -> str:
        return self.hits[0].title

    @property
    def heading_path(self) -> tuple[str, ...]:
        return self.hits[0].chunk.heading_path


@dataclass(slots=True)
class _Run:
    """Chunk positions ``first..last`` (inclusive) in a document's chunk list, and the hits inside."""

    first: int
    last: int
    hits: list[tuple[int, Hit]]  # (rank in the input, hit)


def expand_hits(
    hits: Sequence[Hit],
    store: Store,
    collection: str,
    *,
    window: int | None = 1,
    section: bool = False,
    level: int | None = None,
    max_chars: int | None = None,
) -> list[ExpandedHit]:
    """One passage per group of nearby hits, ordered by each passage's best hit (see the module docstring)."""
    _check(window, level, max_chars)
    by_document: dict[str, list[tuple[int, Hit]]] = {}
    for rank, hit in enumerate(hits):
        by_document.setdefault(hit.document_uri, []).append((rank, hit))
    ranked: list[tuple[int, ExpandedHit]] = []
    for uri, group in by_document.items():
        chunks = store.chunks(collection, uri)
        text = _Lazy(partial(_document_text, store, collection, uri))
        ranked.extend(_runs_to_passages(_runs(group, chunks, window, section, level, max_chars), chunks, text))
    return [passage for _, passage in sorted(ranked, key=lambda pair: pair[0])]


def expand_in_document(
    hits: Sequence[Hit],
    chunks: Sequence[Chunk],
    document_text: str,
    *,
    window: int | None = 1,
    section: bool = False,
    level: int | None = None,
    max_chars: int | None = None,
) -> list[ExpandedHit]:
    """:func:`expand_hits` for hits of one document whose chunks and text the caller already holds."""
    _check(window, level, max_chars)
    runs = _runs(list(enumerate(hits)), chunks, window, section, level, max_chars)
    ranked = _runs_to_passages(runs, chunks, _Lazy(lambda: document_text))
    return [passage for _, passage in sorted(ranked, key=lambda pair: pair[0])]


class _Lazy:
    """The document text, fetched on first use only."""

    def __init__(self, fetch: Callable[[], str]) -> None:
        self.fetch = fetch
        self.value: str | None = None

    def __call__(self) -> str:
        if self.value is None:
            self.value = self.fetch()
        return self.value


def _document_text(store: Store, collection: str, uri: str) -> str:
    document = store.document(collection, uri)
    return "" if document is None else document.text


def _check(window: int | None, level: int | None, max_chars: int | None) -> None:
    for key, value in (("window", window), ("level", level), ("max_chars", max_chars)):
        if value is not None and value < 0:
            raise ConfigError(f"context {key} must be 0 or more, got {value}", key=f"retrieval.context_{key}")


def _runs(
    group: Sequence[tuple[int, Hit]],
    chunks: Sequence[Chunk],
    window: int | None,
    section: bool,
    level: int | None,
    max_chars: int | None,
) -> list[_Run]:
    """Each hit's run of chunk positions, then overlapping or touching runs merged.

    A hit whose chunk is no longer stored as it was (the document changed since the search) gets a run
    of its own chunk only (``first = last = -1``), so every hit still comes back exactly once.
    """
    position = {chunk.index: i for i, chunk in enumerate(chunks)}
    runs: list[_Run] = []
    stale: list[_Run] = []
    for rank, hit in group:
        at = position.get(hit.chunk.index)
        if at is None or not _same_span(chunks[at], hit.chunk):
            stale.append(_Run(-1, -1, [(rank, hit)]))
            continue
        lo, hi = _allowed(chunks, at, window, section, level)
        first, last = _grow(chunks, at, lo, hi, max_chars)
        runs.append(_Run(first, last, [(rank, hit)]))
    return _merge(runs) + stale


def _same_span(stored: Chunk, found: Chunk) -> bool:
    return (stored.start, stored.end, stored.document_id) == (found.start, found.end, found.document_id)


def _allowed(chunks: Sequence[Chunk], at: int, window: int | None, section: bool, level: int | None) -> tuple[int, int]:
    """The widest run of positions (inclusive) the hit at ``at`` may grow into."""
    lo, hi = 0, len(chunks) - 1
    if window is not None:
        lo, hi = max(lo, at - window), min(hi, at + window)
    if not section:
        return lo, hi
    path = chunks[at].heading_path
    prefix = path if level is None else path[:level]
    first, last = at, at
    while first > lo and chunks[first - 1].heading_path[: len(prefix)] == prefix:
        first -= 1
    while last < hi and chunks[last + 1].heading_path[: len(prefix)] == prefix:
        last += 1
    return first, last


def _grow(chunks: Sequence[Chunk], at: int, lo: int, hi: int, max_chars: int | None) -> tuple[int, int]:
    """Add chunks nearest first (after, then before, alternating) while the span fits ``max_chars``."""
    first, last = at, at
    can_after, can_before = last < hi, first > lo
    while can_after or can_before:
        if can_after:
            if _fits(chunks, first, last + 1, max_chars):
                last += 1
                can_after = last < hi
            else:
                can_after = False
        if can_before:
            if _fits(chunks, first - 1, last, max_chars):
                first -= 1
                can_before = first > lo
            else:
                can_before = False
    return first, last


def _fits(chunks: Sequence[Chunk], first: int, last: int, max_chars: int | None) -> bool:
    return max_chars is None or _end(chunks, first, last) - chunks[first].start <= max_chars


def _end(chunks: Sequence[Chunk], first: int, last: int) -> int:
    return max(chunk.end for chunk in chunks[first : last + 1])


def _merge(runs: list[_Run]) -> list[_Run]:
    merged: list[_Run] = []
    for run in sorted(runs, key=lambda r: (r.first, r.last)):
        if merged and run.first <= merged[-1].last + 1:
            merged[-1].last = max(merged[-1].last, run.last)
            merged[-1].hits.extend(run.hits)
        else:
            merged.append(run)
    return merged


def _runs_to_passages(
    runs: Sequence[_Run], chunks: Sequence[Chunk], document_text: Callable[[], str]
) -> list[tuple[int, ExpandedHit]]:
    passages: list[tuple[int, ExpandedHit]] = []
    for run in runs:
        covered = [run.hits[0][1].chunk] if run.first < 0 else chunks[run.first : run.last + 1]
        start, end = covered[0].start, max(chunk.end for chunk in covered)
        hits = sorted(run.hits, key=lambda pair: pair[0])
        passage = ExpandedHit(
            tuple(hit for _, hit in hits),
            _span_text(covered, start, end, document_text),
            start,
            end,
            tuple(chunk.index for chunk in covered),
        )
        passages.append((hits[0][0], passage))
    return passages


def _span_text(covered: Sequence[Chunk], start: int, end: int, document_text: Callable[[], str]) -> str:
    """``document.text[start:end]``, from the chunks themselves when they tile it (no gap between them)."""
    parts: list[str] = []
    reached = start
    for chunk in sorted(covered, key=lambda c: c.start):
        if chunk.start > reached:
            return document_text()[start:end]
        if chunk.end > reached:
            parts.append(chunk.text[reached - chunk.start :])
            reached = chunk.end
    return "".join(parts)
