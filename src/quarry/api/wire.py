"""Internal types → wire schemas, with what a caller may see."""

from __future__ import annotations

from typing import Any

from quarry.api.jobs import Job
from quarry.api.ops_schemas import FeedbackOut
from quarry.api.schemas import (
    AnswerResponse,
    CitationOut,
    ClaimOut,
    CollectionOut,
    DocumentOut,
    HitOut,
    JobOut,
    TraceOut,
    UsageOut,
)
from quarry.api.security import Caller
from quarry.generation.types import Answer, Citation
from quarry.stores.base import CollectionInfo, DocumentInfo, TraceRecord
from quarry.stores.ops import Feedback
from quarry.types import Hit, Usage

__all__ = [
    "answer_out",
    "citation_out",
    "collection_out",
    "document_out",
    "hit_out",
    "job_out",
    "trace_out",
    "usage_out",
]


def hit_out(rank: int, hit: Hit, caller: Caller, *, explain: dict[str, Any] | None = None) -> HitOut:
    chunk = hit.chunk
    return HitOut(
        rank=rank,
        score=hit.score,
        chunk_id=chunk.id,
        document_uri=hit.document_uri,
        title=hit.title,
        text=chunk.text,
        start=chunk.start,
        end=chunk.end,
        page=chunk.page,
        heading_path=list(chunk.heading_path),
        metadata=caller.show_metadata(hit.metadata),
        flags=list(chunk.flags),
        explain=explain,
    )


def citation_out(citation: Citation) -> CitationOut:
    return CitationOut(
        number=citation.number,
        chunk_id=citation.chunk_id,
        document_uri=citation.document_uri,
        title=citation.title,
        start=citation.start,
        end=citation.end,
        quote=citation.quote,
        page=citation.page,
        heading_path=list(citation.heading_path),
        score=citation.score,
        supported=citation.supported,
    )


def usage_out(usage: Usage) -> UsageOut:
    return UsageOut(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        cost_usd=usage.cost_usd,
        model=usage.model,
    )


def answer_out(answer: Answer) -> AnswerResponse:
    return AnswerResponse(
        question=answer.question,
        text=answer.text,
        citations=[citation_out(c) for c in answer.citations],
        abstained=answer.abstained,
        abstain_reason=answer.abstain_reason,
        supported=answer.supported,
        method=answer.method,
        truncated=answer.truncated,
        finish_reason=answer.finish_reason,
        note=answer.note,
        claims=[
            ClaimOut(text=c.text, supported=c.supported, source=c.source, missing=list(c.missing))
            for c in answer.claims
        ],
        usage=usage_out(answer.usage),
        model=answer.model,
        prompt_version=answer.prompt_version,
        trace_id=answer.trace_id,
        took_ms=round(answer.seconds * 1000, 2),
        ttft_ms=None if answer.ttft_s is None else round(answer.ttft_s * 1000, 2),
        refused=answer.refused,
        guard_flags=list(answer.guard_flags),
        cached=answer.cached,
    )


def collection_out(info: CollectionInfo, caller: Caller) -> CollectionOut:
    counts = caller.sees_everything  # counts include documents the caller may not see
    return CollectionOut(
        name=info.name,
        description=info.description,
        embedder=info.embedder,
        documents=info.documents if counts else None,
        chunks=info.chunks if counts else None,
    )


def document_out(info: DocumentInfo, caller: Caller) -> DocumentOut:
    return DocumentOut(
        uri=info.uri,
        source_uri=info.source_uri,
        title=info.title,
        chunks=info.chunks,
        duplicate_of=info.duplicate_of,
        metadata=caller.show_metadata(info.metadata),
    )


def job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id,
        kind=job.kind,
        collection=job.collection,
        status=job.status,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        total=job.total,
        done=job.done,
        units=dict(job.units),
        chunks=job.chunks,
        errors=list(job.errors),
        message=job.message,
        report=job.report,
        request_id=job.request_id,
    )


def trace_out(record: TraceRecord, *, spans: bool) -> TraceOut:
    tokens, cost = 0, 0.0
    for span in record.spans:
        attributes = span.get("attributes")
        if isinstance(attributes, dict):
            tokens += int(attributes.get("prompt_tokens", 0) or 0) + int(attributes.get("completion_tokens", 0) or 0)
            cost += float(attributes.get("cost_usd", 0.0) or 0.0)
    return TraceOut(
        tokens=tokens,
        cost_usd=cost,
        trace_id=record.trace_id,
        kind=record.kind,
        name=record.name,
        started_at=record.started_at,
        duration=record.duration,
        status=record.status,
        attributes=dict(record.attributes),
        spans=[dict(s) for s in record.spans] if spans else None,
    )


def feedback_out(f: Feedback) -> FeedbackOut:
    return FeedbackOut(
        id=f.id, trace_id=f.trace_id, rating=f.rating, score=f.score, comment=f.comment, correction=f.correction,
        key_id=f.key_id, created_at=f.created_at,
    )  # fmt: skip
