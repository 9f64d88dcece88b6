"""What an answer is: text with numbered citations that point into the sources, and the typed
events a streamed answer yields. The API and CLI render these; :mod:`quarry.generation.answer`
produces them."""

from __future__ import annotations

from dataclasses import dataclass, field

from quarry.types import Usage

__all__ = [
    "Answer",
    "AnswerEvent",
    "Citation",
    "CitationEvent",
    "DoneEvent",
    "TokenEvent",
    "UsageEvent",
]


@dataclass(frozen=True, slots=True)
class Citation:
    """Source ``[number]`` of an answer: a chunk's exact span in its document.

    ``quote`` is ``document text[start:end]``; ``page`` and ``heading_path`` locate it for a reader;
    ``supported`` says whether the cited span overlaps the sentence that cites it; ``overlap`` is that
    lexical overlap (0..1, see :mod:`quarry.generation.citations`); ``fallback`` marks a source Quarry
    attached because the model cited nothing (the answer text then carries no marker for it).
    """

    number: int
    chunk_id: str
    document_uri: str
    title: str
    start: int
    end: int
    quote: str
    page: int | None = None
    heading_path: tuple[str, ...] = ()
    score: float = 0.0
    supported: bool = True
    overlap: float = 0.0
    fallback: bool = False


@dataclass(frozen=True, slots=True)
class Answer:
    """``text`` keeps only valid ``[n]`` markers; ``removed_citations`` lists numbers the model made
    up (not among the sources) and were stripped; ``abstained`` is True when Quarry declined to
    answer (weak retrieval support, or the model said it cannot answer)."""

    question: str
    text: str
    citations: tuple[Citation, ...]
    abstained: bool = False
    abstain_reason: str = ""
    removed_citations: tuple[int, ...] = ()
    usage: Usage = field(default_factory=lambda: Usage(0, 0))
    model: str = ""
    prompt_version: str = ""
    trace_id: str = ""
    seconds: float = 0.0
    ttft_s: float | None = None


@dataclass(frozen=True, slots=True)
class TokenEvent:
    text: str


@dataclass(frozen=True, slots=True)
class CitationEvent:
    citation: Citation


@dataclass(frozen=True, slots=True)
class UsageEvent:
    usage: Usage


@dataclass(frozen=True, slots=True)
class DoneEvent:
    answer: Answer


AnswerEvent = TokenEvent | CitationEvent | UsageEvent | DoneEvent
