"""Grounded, cited answers: versioned prompts, context packing, claim checking, abstention."""

from quarry.generation.answer import Answerer
from quarry.generation.packing import PackedSource, format_sources, pack
from quarry.generation.prompts import PromptTemplate, available_prompts, load_prompt
from quarry.generation.types import (
    Answer,
    AnswerEvent,
    Citation,
    CitationEvent,
    Claim,
    DoneEvent,
    Passage,
    RevisionEvent,
    TokenEvent,
    UsageEvent,
)

__all__ = [
    "Answer",
    "AnswerEvent",
    "Answerer",
    "Citation",
    "CitationEvent",
    "Claim",
    "DoneEvent",
    "PackedSource",
    "Passage",
    "PromptTemplate",
    "RevisionEvent",
    "TokenEvent",
    "UsageEvent",
    "available_prompts",
    "format_sources",
    "load_prompt",
    "pack",
]
