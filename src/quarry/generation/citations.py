"""Citations: parse ``[n]`` markers, drop invented numbers, map the rest to exact spans, check support.

Markers: ``[1]``, ``[1, 2]`` / ``[1;2]`` and runs like ``[1][2]`` (numbers of 1–3 digits). A number outside
``1..len(sources)`` is removed from the text and reported in ``removed``; a marker left empty disappears.

Mapping: number → packed :class:`~quarry.generation.packing.PackedSource` → the chunk of that source that best
overlaps the citing sentence → its document uri, page and exact ``[start, end)`` span (``quote`` is the
chunk text, which is ``document.text[start:end]``).

Support check (lexical, no model): the *citing sentence* is the sentence holding the marker; a marker
that opens a sentence (``"… Foo. [1] Bar"``) belongs to the previous sentence when that one has no marker
of its own. Both sides are reduced to content words (lower-cased, stop words dropped, a plural ``s``
trimmed); ``overlap`` = the share of the sentence's content words found in the cited chunk. A citation is
``supported`` when its best citing sentence reaches ``threshold`` (``generation.support_threshold``,
default 0.5: at least half of what the sentence says appears in the cited span). Paraphrase scores lower
than quotation, so the check errs towards "unsupported"; it flags, it does not remove.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from quarry.generation.packing import PackedSource
from quarry.generation.types import Citation
from quarry.generation.words import MARKER, content_words
from quarry.types import Chunk

__all__ = [
    "Marker",
    "Resolved",
    "close_cut_marker",
    "content_words",
    "fallback_citations",
    "find_markers",
    "overlap",
    "resolve",
]

_MARKER = MARKER
_CUT_MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*$")
_SENTENCE = re.compile(r"[^\n]*?(?:[.!?](?=\s|$)|\n|$)")


@dataclass(frozen=True, slots=True)
class Marker:
    start: int
    end: int
    numbers: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Resolved:
    text: str
    citations: tuple[Citation, ...]
    removed: tuple[int, ...]


def find_markers(text: str) -> list[Marker]:
    return [
        Marker(m.start(), m.end(), tuple(int(n) for n in re.findall(r"\d+", m.group(1))))
        for m in _MARKER.finditer(text)
    ]


def close_cut_marker(text: str) -> str:
    """Close a marker that a stop sequence cut off at the very end (``"… fact [1"`` → ``"… fact [1]"``).

    Prompts may stop generation at ``"]."`` or ``"] ["`` (end of the first cited sentence, or a run of
    repeated markers); llama.cpp drops the stop sequence itself, which leaves the last marker open."""
    return _CUT_MARKER.sub(lambda m: f"[{m.group(1)}]", text.rstrip())


def overlap(sentence: str, span: str) -> float:
    """Share of ``sentence``'s content words that occur in ``span`` (0 when the sentence has none)."""
    said = content_words(sentence)
    return len(said & content_words(span)) / len(said) if said else 0.0


def _clean(text: str, valid: range) -> tuple[str, list[int]]:
    parts: list[str] = []
    removed: list[int] = []
    last = 0
    for marker in find_markers(text):
        keep = [n for n in marker.numbers if n in valid]
        removed.extend(n for n in marker.numbers if n not in valid)
        before = text[last : marker.start]
        if keep:
            parts.append(before + "[" + ", ".join(str(n) for n in keep) + "]")
        else:
            parts.append(before.rstrip(" \t") if text[marker.end : marker.end + 1] in ".,;:!? " else before)
        last = marker.end
    parts.append(text[last:])
    return "".join(parts), removed


def _sentences(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.end() > m.start()]


def _citing_sentences(text: str) -> list[tuple[int, str]]:
    """``(number, citing sentence)`` for every number of every marker in ``text``."""
    spans = _sentences(text)
    found: list[tuple[int, str]] = []
    for marker in find_markers(text):
        index = next((i for i, (s, e) in enumerate(spans) if s <= marker.start < e), len(spans) - 1)
        start, end = spans[index]
        opens = not content_words(text[start : marker.start])
        if opens and index > 0 and not find_markers(text[slice(*spans[index - 1])]):
            start, end = spans[index - 1]
        found.extend((n, text[start:end]) for n in marker.numbers)
    return found


def _best_chunk(source: PackedSource, sentences: Sequence[str]) -> tuple[Chunk, float]:
    scored = [(max(overlap(s, c.text) for s in sentences), -i, c) for i, c in enumerate(source.chunks)]
    best, _, chunk = max(scored, key=lambda t: (t[0], t[1]))
    return chunk, best


def _citation(
    number: int, source: PackedSource, chunk: Chunk, score: float, threshold: float, fallback: bool
) -> Citation:
    return Citation(
        number=number,
        chunk_id=chunk.id,
        document_uri=source.document_uri,
        title=source.title,
        start=chunk.start,
        end=chunk.end,
        quote=chunk.text,
        page=chunk.page,
        heading_path=chunk.heading_path,
        score=source.score,
        supported=score >= threshold,
        overlap=round(score, 3),
        fallback=fallback,
    )


def resolve(text: str, sources: Sequence[PackedSource], *, threshold: float = 0.5) -> Resolved:
    """Clean ``text`` of invented numbers and map its markers to citations (one per number, in order)."""
    cleaned, removed = _clean(text, range(1, len(sources) + 1))
    by_number: dict[int, list[str]] = {}
    for number, sentence in _citing_sentences(cleaned):
        by_number.setdefault(number, []).append(sentence)
    citations = []
    for number, sentences in by_number.items():
        source = sources[number - 1]
        chunk, score = _best_chunk(source, sentences)
        citations.append(_citation(number, source, chunk, score, threshold, fallback=False))
    return Resolved(cleaned, tuple(citations), tuple(dict.fromkeys(removed)))


def fallback_citations(
    answer: str, sources: Sequence[PackedSource], *, threshold: float = 0.5, top: int = 1
) -> tuple[Citation, ...]:
    """For an answer that cites nothing: the ``top`` sources whose best chunk overlaps the whole answer
    at least ``threshold``, marked ``fallback=True`` (no marker is added to the text)."""
    scored = [(*_best_chunk(s, [answer]), s) for s in sources if s.chunks]
    scored.sort(key=lambda t: -t[1])
    return tuple(
        _citation(source.number, source, chunk, score, threshold, fallback=True)
        for chunk, score, source in scored[:top]
        if score >= threshold
    )
