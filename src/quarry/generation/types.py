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
    "Claim",
    "DoneEvent",
    "Passage",
    "RevisionEvent",
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
class Passage:
    """A span of a stored document: one that retrieval returned, or a numbered source the model read."""

    document_uri: str
    title: str
    start: int
    end: int
    text: str
    number: int = 0
    score: float = 0.0


@dataclass(frozen=True, slots=True)
class Claim:
    """One sentence of the answer and the claim check's verdict: ``source`` is the number of the source
    that backs it (``None``: nothing does), ``missing`` the key terms its cited source lacks."""

    text: str
    supported: bool
    source: int | None = None
    missing: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Answer:
    """``text`` keeps only valid ``[n]`` markers; ``removed_citations`` lists numbers the model made
    up (not among the sources) and were stripped; ``abstained`` is True when Quarry declined to
    answer (weak retrieval support, a qualifier no source carries, or the model said it cannot answer).

    ``method`` says where the text came from: ``generated`` (the model's sentences that passed the
    claim check), ``extractive`` (the model's answer failed the check, so the best supporting sentence
    is quoted) or ``abstained``. ``supported`` is the answer-level verdict: every claim is backed by the
    span it cites, that span carries the question's qualifiers and holds what the question asks for.
    ``truncated`` says the model was cut off by its token limit (``finish_reason == "length"``);
    ``model_text`` is what the model wrote before the check. ``query`` is what was searched (a follow-up
    in a conversation is condensed into a standalone query); ``sources`` are the passages the model read,
    ``retrieved`` every passage retrieval returned. ``refused`` is set when a guard blocked the question or
    the answer (``method = "refused"``); ``guard_flags`` names every guard that fired.
    """

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
    supported: bool = False
    truncated: bool = False
    finish_reason: str = ""
    method: str = "generated"
    model_text: str = ""
    note: str = ""  # why the claim check changed the model's answer (empty when it did not)
    claims: tuple[Claim, ...] = ()
    query: str = ""
    sources: tuple[Passage, ...] = ()
    retrieved: tuple[Passage, ...] = ()
    refused: bool = False  # a guard blocked the question or the answer (``text`` says why)
    guard_flags: tuple[str, ...] = ()  # guards that fired (flagged, redacted or blocked) along the way
    cached: bool = False  # served from the semantic answer cache (``usage`` is then what this request spent)


@dataclass(frozen=True, slots=True)
class RevisionEvent:
    """The claim check changed the streamed text: ``text`` replaces it, ``reason`` says why."""

    text: str
    reason: str


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


AnswerEvent = TokenEvent | RevisionEvent | CitationEvent | UsageEvent | DoneEvent
