"""Wire schemas: what the REST API accepts and returns (kept apart from the internal types)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AnswerRequest",
    "AnswerResponse",
    "ChunkOut",
    "CitationOut",
    "CollectionIn",
    "CollectionOut",
    "DocumentDetail",
    "DocumentOut",
    "ErrorBody",
    "ErrorResponse",
    "HitOut",
    "IngestRequest",
    "JobOut",
    "PageOut",
    "SearchRequest",
    "SearchResponse",
    "TraceOut",
    "TurnIn",
    "UsageOut",
]

COLLECTION = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
FILTER_DOC = (
    "a filter expression: {'eq': {'field', 'value'}}, {'ne': …}, {'in': {'field', 'values'}}, "
    "{'any_of': {'field', 'values'}}, {'range': {'field', 'gte'|'gt'|'lte'|'lt'}}, "
    "{'and': [..]}, {'or': [..]}, {'not': {..}}"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. forbidden, collection_not_found")
    message: str = Field(description="what went wrong and what to change")
    request_id: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class CollectionIn(_Strict):
    name: str = Field(pattern=COLLECTION)
    description: str = Field("", max_length=500)


class CollectionOut(BaseModel):
    name: str
    description: str
    embedder: str | None
    documents: int | None = Field(None, description="only shown to keys that see every document")
    chunks: int | None = None


class DocumentOut(BaseModel):
    uri: str
    source_uri: str
    title: str
    chunks: int
    duplicate_of: str | None
    metadata: dict[str, Any]


class PageOut(BaseModel):
    number: int
    start: int = Field(description="offset of the page's first character in the document text")
    end: int


class DocumentDetail(BaseModel):
    uri: str
    source_uri: str
    title: str
    text: str
    metadata: dict[str, Any]
    pages: list[PageOut] = Field(default_factory=list, description="page spans of paged formats (PDF)")


class ChunkOut(BaseModel):
    chunk_id: str
    index: int
    start: int = Field(description="offset in the document text; text == document.text[start:end]")
    end: int
    page: int | None
    heading_path: list[str]
    token_count: int
    flags: list[str]
    text: str


class IngestRequest(_Strict):
    source: str = Field(min_length=1, max_length=4096, description="an http(s) URL, or a server path (admins)")
    sync: bool = Field(False, description="also delete stored units the source no longer yields")


class JobOut(BaseModel):
    id: str
    kind: str
    collection: str
    status: Literal["queued", "running", "succeeded", "failed"]
    created_at: float
    started_at: float | None
    finished_at: float | None
    total: int | None = Field(description="source units the job will visit, when known")
    done: int = Field(description="source units visited so far")
    units: dict[str, int] = Field(description="units by outcome: new, changed, unchanged, failed")
    chunks: int = Field(description="chunks embedded and stored so far")
    errors: list[dict[str, str]] = Field(description="per-unit failures: uri, reason, kind")
    message: str
    report: dict[str, Any] | None
    request_id: str


class SearchRequest(_Strict):
    collection: str = Field(pattern=COLLECTION)
    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(10, ge=1, le=100)
    mode: Literal["hybrid", "bm25", "dense"] | None = Field(None, description="default: the server's retrieval.mode")
    filter: dict[str, Any] | None = Field(None, description=FILTER_DOC)
    explain: bool = Field(False, description="add, per hit, the rank and score of each retrieval path that found it")


class HitOut(BaseModel):
    rank: int
    score: float
    chunk_id: str
    document_uri: str
    title: str
    text: str
    start: int
    end: int
    page: int | None
    heading_path: list[str]
    metadata: dict[str, Any]
    flags: list[str] = Field(
        default_factory=list, description="what the guards found at ingest, e.g. injection (planted instructions)"
    )
    explain: dict[str, Any] | None = None


class SearchResponse(BaseModel):
    query: str
    collection: str
    mode: str
    took_ms: float
    trace_id: str = Field(description="the search's trace; empty when the response came from the result cache")
    cached: bool = Field(False, description="served from the server's result cache (no search ran)")
    hits: list[HitOut]


class TurnIn(_Strict):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=8000)


class AnswerRequest(_Strict):
    collection: str = Field(pattern=COLLECTION)
    question: str = Field(min_length=1, max_length=4000)
    k: int | None = Field(None, ge=1, le=50, description="passages retrieved; default: the server's generation.k")
    filter: dict[str, Any] | None = Field(None, description=FILTER_DOC)
    stream: bool = Field(False, description="stream server-sent events (same as Accept: text/event-stream)")
    session: str | None = Field(
        None, max_length=128, description="a user or session id: keeps a conversation on one experiment variant"
    )
    history: list[TurnIn] = Field(
        default_factory=list,
        max_length=40,
        description="the conversation so far, oldest first: a follow-up is condensed into a standalone query",
    )


class CitationOut(BaseModel):
    number: int
    chunk_id: str
    document_uri: str
    title: str
    start: int
    end: int
    quote: str
    page: int | None
    heading_path: list[str]
    score: float
    supported: bool


class UsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float
    model: str


class ClaimOut(BaseModel):
    text: str
    supported: bool
    source: int | None = Field(description="the number of the source that backs it (null: none does)")
    missing: list[str] = Field(description="key terms (numbers, names) the cited source does not contain")


class AnswerResponse(BaseModel):
    question: str
    text: str
    citations: list[CitationOut]
    abstained: bool
    abstain_reason: str
    supported: bool = Field(description="every claim is backed by the span it cites, which matches the question")
    method: str = Field(description="generated (the model's checked sentences), extractive (a quote) or abstained")
    truncated: bool = Field(description="the model was cut off by its token limit")
    finish_reason: str
    note: str = Field(description="why the claim check changed the model's answer (empty when it did not)")
    claims: list[ClaimOut]
    usage: UsageOut
    model: str
    prompt_version: str
    trace_id: str
    took_ms: float
    ttft_ms: float | None = Field(description="time to the first token, from the request")
    refused: bool = Field(False, description="a guard blocked the question or the answer (text says why)")
    guard_flags: list[str] = Field(default_factory=list, description="guards that fired (flagged, redacted, blocked)")
    cached: bool = Field(False, description="served from the semantic answer cache")


class TraceOut(BaseModel):
    trace_id: str
    kind: str
    name: str
    started_at: float
    duration: float
    status: str
    attributes: dict[str, Any]
    tokens: int = Field(0, description="model tokens (prompt + completion) over every span")
    cost_usd: float = Field(0.0, description="model cost over every span")
    spans: list[dict[str, Any]] | None = None
    feedback: list[dict[str, Any]] | None = None
