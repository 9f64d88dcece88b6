"""``[generation]``, ``[evaluation]`` and ``[cache]``: how answers are made, judged and cached."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from quarry.settings.llm import LLMProviderSettings
from quarry.settings.section import Section

__all__ = ["CacheSettings", "EvaluationSettings", "GenerationSettings"]


class GenerationSettings(Section):
    """Cited answers: which prompt, how much context, when to abstain (see ``quarry.generation``). Defaults
    were chosen on the tune split of bench/qa/dev.jsonl (docs/answers.md)."""

    prompt: str = Field(
        "answer",
        description="the answer prompt: a name (its prompt_label version, or an experiment running on it, else the "
        "newest shipped version) or name@version to pin one (`quarry prompts list`)",
    )
    prompt_label: str = Field(
        "production", description="the label a prompt name resolves to (`quarry prompts promote`)"
    )
    k: int = Field(
        5, ge=1, le=100, description="passages retrieved per question (the CLI, API and Python API honour it)"
    )
    mode: Literal["hybrid", "dense", "bm25"] | None = Field(
        None, description="retrieval mode for answers; None = the same as search ([retrieval] mode)"
    )
    max_chunks_per_document: int = Field(
        2, ge=0, description="chunks one document may contribute (neighbours merge into one passage); 0 = no limit"
    )
    max_context_tokens: int | None = Field(
        400,
        ge=64,
        description="cap on the sources the model reads (whole passages); None = the model's context window minus "
        "the prompt and the answer. 400 keeps SmolLM2 answers under 2 s p50 on 2 cores (docs/answers.md)",
    )
    max_sources: int = Field(
        2, ge=1, description="passages shown to the model (prompt reading dominates local latency)"
    )
    max_tokens: int = Field(96, ge=1, description="completion tokens per answer (answers end on a sentence)")
    max_sentences: int | None = Field(
        2, ge=1, description="stop reading the model after this many sentences (SmolLM2 runs on otherwise); None = off"
    )
    min_score_dense: float = Field(
        0.25, description="abstain without calling the model when the best passage's cosine is below this"
    )
    min_score_bm25: float = Field(3.0, description="the same for bm25-only answers: the best BM25 score")
    min_evidence_score: float = Field(
        4.0,
        description="abstain without calling the model when the best sentence's evidence score (quarry.generation."
        "extractive) is below this: 4.0 = a span holding what is asked and matching the question; chosen on the "
        "tune split (most right answers at ≤ 10% false abstention: 6% false, 37% correct abstentions)",
    )
    supported_score: float = Field(
        4.4,
        description="an answer is flagged supported only when its evidence scores at least this (chosen on the "
        "tune split: flag/correctness agreement 0.83)",
    )
    support_threshold: float = Field(
        0.5, ge=0, le=1, description="share of a claim's content words its source must hold when it has no key terms"
    )
    answer_mode: Literal["generate", "extract"] = Field(
        "generate",
        description="generate: the model answers and the claim check keeps what the sources back; extract: no "
        "model call, the best supporting sentence is quoted (tens of milliseconds)",
    )
    verify: bool = Field(True, description="check every claim's numbers, dates and names against the cited span")
    extractive_fallback: bool = Field(
        True, description="when the model's answer fails the check, quote the best supporting sentence instead"
    )
    condense: Literal["keywords", "llm", "off"] = Field(
        "keywords",
        description="how a follow-up in a conversation becomes a standalone query: the earlier turns' key terms, "
        "a rewrite by the chat model, or not at all",
    )
    context_window: int | None = Field(
        None, ge=256, description="model context in tokens; None = llm.local.n_ctx (local) or 128000"
    )


class EvaluationSettings(Section):
    """``quarry eval answers``: where runs are kept, the answer cache, and the judge model."""

    runs_dir: Path | None = Field(None, description="stored evaluation runs; None = <store folder>/evals")
    cache: bool = Field(True, description="reuse answers of an unchanged configuration (keyed by question + config)")
    judge: LLMProviderSettings = Field(
        default_factory=lambda: LLMProviderSettings(),
        description="the chat model that grades answers with --judge (local default, openai or anthropic)",
    )


class CacheSettings(Section):
    """``[cache]``: the semantic answer cache (see ``quarry.cache.semantic``)."""

    enabled: bool = Field(True, description="serve a stored answer to the same or a paraphrased question")
    threshold: float = Field(
        0.93, gt=0.0, le=1.0, description="least cosine between questions (bench/cache.py: <= 1% false hits)"
    )
    ttl_s: float = Field(7 * 86400.0, gt=0, description="an entry is not served after this many seconds")
    url: str | None = Field(
        None, description="redis://host:port/db to share the cache between replicas; None = SQLite beside the store"
    )

    @field_validator("url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("use redis://host:port/db (or rediss://, unix://), or leave it unset for SQLite")
        return value
