"""Heading-aware recursive chunking: sections → pieces that fit → greedy merge → overlap.

:func:`chunk_document` is a pure function of its arguments. How it works:

1. The text is split into sections at Markdown ATX headings (not inside code fences); a chunk never
   spans two sections, except that a heading with no body of its own (``# Handbook`` directly
   followed by ``## Leave``) is kept with the next section rather than becoming a chunk of its own;
   the chunk then carries the deeper heading path.
2. A section over budget is cut recursively at blank lines, then line breaks, then sentence ends,
   then spaces, and finally by characters, until every piece fits ``max_tokens``. Separators stay at
   the end of the piece before them, so pieces tile the section exactly.
3. Adjacent pieces are merged greedily. The first chunk of a section may use all of ``max_tokens``;
   later ones are merged up to ``max_tokens - overlap_tokens`` and then start up to
   ``overlap_tokens`` earlier, at a word start inside the previous chunk, while the whole still fits.
4. Offsets are trimmed of surrounding whitespace; ``chunk.text == doc.text[chunk.start:chunk.end]``.

``count_tokens`` is called about three times per character of text (section, pieces, merged chunks)
plus a few short calls per chunk for the overlap, never on every candidate substring. Every chunk's
``token_count`` is ``count_tokens(chunk.text)`` and is at most ``max_tokens``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise

from quarry.chunking.sections import Section, split_sections
from quarry.types import Chunk, Document

__all__ = ["chunk_document"]

CountTokens = Callable[[str], int]

_SEPARATORS = (
    re.compile(r"\n[ \t]*\n\s*"),  # blank line(s)
    re.compile(r"\n\s*"),  # line break
    re.compile(r"[.?!][\"'”’)\]]*\s+"),  # sentence end
    re.compile(r"\s+"),  # word gap
)
_WORD = re.compile(r"\S+")
_HARD_CUT_CHARS_PER_TOKEN = 32  # how far a character cut looks ahead per token of budget
_MAX_CHARS_PER_TOKEN = 6  # longer spans are assumed over budget and split without counting


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    tokens: int


@dataclass(frozen=True, slots=True)
class _Ctx:
    text: str
    count: CountTokens
    max_tokens: int
    overlap: int

    def tokens(self, start: int, end: int) -> int:
        return self.count(self.text[start:end])


def chunk_document(doc: Document, *, count_tokens: CountTokens, max_tokens: int, overlap_tokens: int) -> list[Chunk]:
    """Split ``doc`` into chunks of at most ``max_tokens`` tokens (as counted by ``count_tokens``)."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    if not 0 <= overlap_tokens < max_tokens:
        raise ValueError("overlap_tokens must be at least 0 and less than max_tokens")
    ctx = _Ctx(doc.text, count_tokens, max_tokens, overlap_tokens)
    document_id = doc.id
    chunks: list[Chunk] = []
    for section in _fold_bare_headings(ctx.text, split_sections(ctx.text)):
        for span in _chunk_section(ctx, section):
            chunks.append(
                Chunk(
                    document_id=document_id,
                    index=len(chunks),
                    text=ctx.text[span.start : span.end],
                    start=span.start,
                    end=span.end,
                    heading_path=section.heading_path,
                    page=doc.page_at(span.start),
                    token_count=span.tokens,
                )
            )
    return chunks


def _fold_bare_headings(text: str, sections: Sequence[Section]) -> Iterator[Section]:
    """Drop blank sections; join a section that is only a heading line onto the next one."""
    pending: int | None = None
    for i, section in enumerate(sections):
        body_at = text.find("\n", section.start, section.end)
        bare = body_at < 0 or not text[body_at : section.end].strip()
        if section.heading_path and bare and i + 1 < len(sections):
            pending = section.start if pending is None else pending
            continue
        start = section.start if pending is None else pending
        pending = None
        if text[start : section.end].strip():
            yield Section(start, section.end, section.heading_path)


def _chunk_section(ctx: _Ctx, section: Section) -> list[_Span]:
    start, end = _trim(ctx.text, section.start, section.end)
    if start == end:
        return []
    pieces = _pieces(ctx, start, end, 0)
    if len(pieces) == 1:
        return pieces
    spans: list[_Span] = []
    for group in _greedy_groups(pieces, ctx.max_tokens, ctx.max_tokens - ctx.overlap):
        overlapped = _with_overlap(ctx, group, spans[-1]) if spans and ctx.overlap else None
        spans.extend([overlapped] if overlapped else _verified(ctx, group))
    return spans


def _pieces(ctx: _Ctx, start: int, end: int, level: int, tokens: int = -1) -> list[_Span]:
    """Spans tiling ``[start, end)``, each within ``max_tokens``.

    A span too long to plausibly fit is split without being counted (a performance shortcut: if it
    did fit, its pieces merge back into it).
    """
    if tokens < 0 and end - start <= ctx.max_tokens * _MAX_CHARS_PER_TOKEN:
        tokens = ctx.tokens(start, end)
    if 0 <= tokens <= ctx.max_tokens:
        return [_Span(start, end, tokens)]
    if level == len(_SEPARATORS):
        return list(_hard_cut(ctx, start, end))
    cuts = [m.end() for m in _SEPARATORS[level].finditer(ctx.text, start, end) if start < m.end() < end]
    if not cuts:
        return _pieces(ctx, start, end, level + 1, tokens)
    pieces: list[_Span] = []
    for a, b in pairwise([start, *cuts, end]):
        pieces.extend(_pieces(ctx, a, b, level + 1))
    return pieces


def _hard_cut(ctx: _Ctx, start: int, end: int) -> Iterator[_Span]:
    """Cut a run with no separators by characters: each part is the longest prefix that fits."""
    while start < end:
        lo, hi = start + 1, min(end, start + ctx.max_tokens * _HARD_CUT_CHARS_PER_TOKEN)
        best = _Span(start, lo, ctx.tokens(start, lo))  # one character, even if it is over budget
        lo += 1
        while lo <= hi:
            mid = (lo + hi) // 2
            tokens = ctx.tokens(start, mid)
            if tokens <= ctx.max_tokens:
                best, lo = _Span(start, mid, tokens), mid + 1
            else:
                hi = mid - 1
        yield best
        start = best.end


def _greedy_groups(pieces: Sequence[_Span], first_budget: int, budget: int) -> Iterator[list[_Span]]:
    group: list[_Span] = []
    total = 0
    limit = first_budget
    for piece in pieces:
        if group and total + piece.tokens > limit:
            yield group
            group, total, limit = [], 0, budget
        group.append(piece)
        total += piece.tokens
    if group:
        yield group


def _verified(ctx: _Ctx, group: Sequence[_Span]) -> list[_Span]:
    """The group's trimmed span, counted; halved until it fits (only a non-additive count needs it)."""
    start, end = _trim(ctx.text, group[0].start, group[-1].end)
    if start == end:
        return []
    tokens = ctx.tokens(start, end)
    if tokens <= ctx.max_tokens or len(group) == 1:
        return [_Span(start, end, tokens)]
    half = len(group) // 2
    return _verified(ctx, group[:half]) + _verified(ctx, group[half:])


def _with_overlap(ctx: _Ctx, group: Sequence[_Span], previous: _Span) -> _Span | None:
    """The group's span, starting up to ``overlap`` tokens earlier at a word start after ``previous``.

    ``None`` when no overlap fits (or the estimate was off): the caller falls back to the bare group.
    """
    start, end = _trim(ctx.text, group[0].start, group[-1].end)
    allowed = min(ctx.overlap, ctx.max_tokens - sum(piece.tokens for piece in group))
    if start == end or allowed <= 0:
        return None
    starts = _word_starts_before(ctx, previous.start, start, allowed)
    lo, hi = 0, len(starts)
    while lo < hi:  # the smallest index whose run-up [starts[i], start) fits the overlap budget
        mid = (lo + hi) // 2
        if ctx.tokens(starts[mid], start) <= allowed:
            hi = mid
        else:
            lo = mid + 1
    if lo == len(starts):
        return None
    tokens = ctx.tokens(starts[lo], end)
    return _Span(starts[lo], end, tokens) if tokens <= ctx.max_tokens else None


def _word_starts_before(ctx: _Ctx, floor: int, start: int, tokens: int) -> list[int]:
    """Word starts in ``[floor, start)``, enough of them to hold ``tokens`` tokens of run-up."""
    window = tokens * 8
    while True:
        lo = max(floor, start - window)
        starts = [m.start() for m in _WORD.finditer(ctx.text, lo, start)]
        if starts and starts[0] == lo > floor and not ctx.text[lo - 1].isspace():
            starts = starts[1:]  # a match at the window's edge may begin mid-word
        if lo == floor or (starts and ctx.tokens(starts[0], start) > tokens):
            return starts
        window *= 4


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
