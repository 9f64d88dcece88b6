"""Grounded, cited answers: versioned prompts, context packing, claim checking, abstention."""

from quarry.generation.answer import Answerer
from quarry.generation.base import (
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
from quarry.generation.packing import Source, format_sources, pack
from quarry.generation.prompts import PromptTemplate, available_prompts, load_prompt

__all__ = [
    "Answer",
    "AnswerEvent",
    "Answerer",
    "Citation",
    "CitationEvent",
    "Claim",
    "DoneEvent",
    "Passage",
    "PromptTemplate",
    "RevisionEvent",
    "Source",
    "TokenEvent",
    "UsageEvent",
    "available_prompts",
    "format_sources",
    "load_prompt",
    "pack",
]
