"""``/v1/collections/{collection}/documents`` and ``…/ingest``: uploads, source ingestion, reading, deleting.

Uploads and ingests run as background jobs (``/v1/jobs/{id}``). Listings and reads show only the
documents the caller's principals may see; any other document is "not found", like a missing one.
"""

from __future__ import annotations

import zlib
from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, UploadFile, status

from quarry.api.context import ApiContext, CallerDep, ContextDep
from quarry.api.errors import REQUEST_ID, ApiError
from quarry.api.job_specs import JobSpec
from quarry.api.originals import Originals
from quarry.api.schemas import COLLECTION, ChunkOut, DocumentDetail, DocumentOut, IngestRequest, JobOut, PageOut
from quarry.api.security import Caller
from quarry.api.sources import check_url, safe_name
from quarry.api.wire import document_out, job_out
from quarry.errors import QuarryError
from quarry.ingest.parsers.registry import bounded_gunzip
from quarry.pipeline.access import normalise_principals
from quarry.pipeline.delete import delete_uris
from quarry.stores.base import DocumentInfo

__all__ = ["router"]

router = APIRouter(prefix="/v1/collections/{collection}", tags=["documents"])

CollectionName = Annotated[str, Path(pattern=COLLECTION)]
MAX_FILES = 100
PAGE = 500


@router.post("/documents", status_code=status.HTTP_202_ACCEPTED)
async def upload(
    collection: CollectionName,
    caller: CallerDep,
    context: ContextDep,
    files: Annotated[list[UploadFile], File(description="documents to ingest (any supported format)")],
    principals: Annotated[str | None, Form(description="comma-separated principals who may see them")] = None,
) -> JobOut:
    """Upload files into a collection; returns the ingest job. Names are reduced to safe base names."""
    caller.require("write", collection)
    if not files or len(files) > MAX_FILES:
        raise ApiError(400, "invalid_upload", f"send 1 to {MAX_FILES} files")
    named: dict[str, bytes] = {}
    original: dict[str, str] = {}
    for file in files:
        name = safe_name(file.filename)
        if name in named:  # the later one would replace the earlier: say so rather than drop one
            raise ApiError(
                400,
                "invalid_upload",
                f"two files in this upload are both stored as {name!r} ({original[name]!r} and {file.filename!r}); "
                "rename one, or send them in separate requests",
            )
        named[name], original[name] = await file.read(), file.filename or ""
        _inflates_within(name, named[name], int(context.settings.ingest.max_file_mb * 1e6))
    spec = JobSpec("upload", collection, tuple(sorted(named.items())), tuple(normalise_principals(principals or "")))
    _may_overwrite(context, caller, collection, [f"upload://{collection}/{name}" for name in named])
    originals = Originals.of(context.settings)
    for name, data in named.items():  # PDFs are kept so a citation can be shown as its page
        originals.keep(collection, name, data)
    return _submit(context, caller, spec)


def _inflates_within(name: str, data: bytes, cap: int) -> None:
    """413 for a gzip upload that inflates past the file size limit (checked without inflating past it)."""
    if (name.lower().endswith(".gz") or data[:2] == b"\x1f\x8b") and _gunzipped_size_over(data, cap):
        raise ApiError(413, "payload_too_large", f"{name} inflates to more than {cap:,} bytes (ingest.max_file_mb)")


def _gunzipped_size_over(data: bytes, cap: int) -> bool:
    try:
        return bounded_gunzip(data, cap) is None
    except (OSError, EOFError, zlib.error):
        return False  # not valid gzip: the ingest job reports it per file


def _may_overwrite(context: ApiContext, caller: Caller, collection: str, source_uris: list[str]) -> None:
    """403 when a write would replace a document the caller cannot see (same error as any other refusal)."""
    if caller.sees_everything:
        return
    store = context.quarry.store
    try:
        store.collection(collection)
    except QuarryError:
        return  # a new collection: nothing to overwrite
    for source_uri in source_uris:
        for uri in store.document_hashes(collection, source_uri):
            document = store.document(collection, uri)
            if document is not None and not caller.may_see(document.metadata):
                raise ApiError(403, "forbidden", "this key may not use that collection")


@router.post("/ingest", status_code=status.HTTP_202_ACCEPTED)
def ingest(collection: CollectionName, body: IngestRequest, caller: CallerDep, context: ContextDep) -> JobOut:
    """Ingest an http(s) URL (write keys, when the operator allows URLs) or a server path under
    ``api.ingest_roots`` (admin keys)."""
    settings = context.settings
    if body.source.startswith(("http://", "https://")):
        caller.require("write", collection)
        check_url(body.source, settings.api)  # refused now (400), not later in the job; checked again at every hop
        _may_overwrite(context, caller, collection, [body.source])
        return _submit(context, caller, JobSpec("url", collection, target=body.source))
    caller.require("admin", collection)
    path = _allowed_path(body.source, settings.api.ingest_roots)
    return _submit(context, caller, JobSpec("path", collection, target=str(path)))


@router.get("/documents")
def list_documents(
    collection: CollectionName,
    caller: CallerDep,
    context: ContextDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[DocumentOut]:
    """The documents of a collection this caller may see, by uri."""
    caller.require("read", collection)
    return [document_out(d, caller) for d in _visible(context, caller, collection, limit, offset)]


@router.get("/documents/{uri:path}")
def get_document(collection: CollectionName, uri: str, caller: CallerDep, context: ContextDep) -> DocumentDetail:
    """One document with its text; ``uri`` percent-encoded."""
    caller.require("read", collection)
    document = context.quarry.store.document(collection, uri)
    if document is None or not caller.may_see(document.metadata):
        raise _not_found()
    return DocumentDetail(
        uri=document.uri,
        source_uri=document.source_uri,
        title=document.title,
        text=document.text,
        metadata=caller.show_metadata(document.metadata),
        pages=[PageOut(number=p.number, start=p.start, end=p.end) for p in document.pages],
    )


@router.get("/chunks")
def list_chunks(
    collection: CollectionName,
    caller: CallerDep,
    context: ContextDep,
    document: Annotated[str, Query(min_length=1, max_length=4096, description="the document's uri")],
) -> list[ChunkOut]:
    """A document's chunks in order, with their offsets into its text (what search and citations point at)."""
    caller.require("read", collection)
    store = context.quarry.store
    found = store.document(collection, document)
    if found is None or not caller.may_see(found.metadata):
        raise _not_found()
    return [
        ChunkOut(
            chunk_id=c.id,
            index=c.index,
            start=c.start,
            end=c.end,
            page=c.page,
            heading_path=list(c.heading_path),
            token_count=c.token_count,
            flags=list(c.flags),
            text=c.text,
        )
        for c in store.chunks(collection, document)
    ]


@router.delete("/documents/{uri:path}", status_code=status.HTTP_204_NO_CONTENT)
def delete_document(collection: CollectionName, uri: str, caller: CallerDep, context: ContextDep) -> None:
    """Delete a document, or every document of a source when ``uri`` names a source (an upload, a URL)."""
    caller.require("write", collection)
    store = context.quarry.store
    document = store.document(collection, uri)
    if document is None or not caller.may_see(document.metadata):
        raise _not_found()
    delete_uris(store, collection, [uri])
    Originals.of(context.settings).forget(collection, document.source_uri)


def _submit(context: ApiContext, caller: Caller, spec: JobSpec) -> JobOut:
    job = context.jobs.submit(spec.kind, spec.collection, caller.key.id, REQUEST_ID.get(), spec)
    return job_out(job)


def _allowed_path(target: str, roots: list[FsPath]) -> FsPath:
    if not roots:
        raise ApiError(
            403, "path_ingestion_disabled", "ingesting server paths is off; the operator can set api.ingest_roots"
        )
    path = FsPath(target).expanduser().resolve()
    if not any(path.is_relative_to(root.expanduser().resolve()) for root in roots):
        raise ApiError(403, "path_not_allowed", "that path is outside the operator's api.ingest_roots")
    return path


def _visible(context: ApiContext, caller: Caller, collection: str, limit: int, offset: int) -> list[DocumentInfo]:
    store = context.quarry.store
    if caller.sees_everything:
        return store.documents(collection, limit=limit, offset=offset)
    found: list[DocumentInfo] = []
    skipped, position = 0, 0
    while len(found) < limit:
        page = store.documents(collection, limit=PAGE, offset=position)
        position += len(page)
        for info in page:
            if not caller.may_see(info.metadata):
                continue
            if skipped < offset:
                skipped += 1
            elif len(found) < limit:
                found.append(info)
        if len(page) < PAGE:
            break
    return found


def _not_found() -> ApiError:
    return ApiError(404, "document_not_found", "no such document in this collection (or not visible to this key)")
