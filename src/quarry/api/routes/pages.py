"""``GET /v1/collections/{collection}/page``: one page of a PDF document as a PNG, the cited text highlighted.

The console shows a PDF citation as its page. The caller must be able to read the document (the same rule as
reading its text); the page comes from the kept upload or the server file the document was ingested from.
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from quarry.api.context import CallerDep, ContextDep
from quarry.api.errors import ApiError
from quarry.api.originals import Originals
from quarry.api.schemas import COLLECTION
from quarry.errors import ParseError
from quarry.ingest.pdf_pages import render_page

__all__ = ["router"]

router = APIRouter(prefix="/v1/collections/{collection}", tags=["documents"])


@router.get("/page", response_class=Response, responses={200: {"content": {"image/png": {}}}})
async def page_image(
    collection: Annotated[str, Path(pattern=COLLECTION)],
    caller: CallerDep,
    context: ContextDep,
    document: Annotated[str, Query(min_length=1, max_length=4096, description="the document's uri")],
    number: Annotated[int, Query(ge=1, le=100_000, description="the page, from 1")],
    highlight: Annotated[str, Query(max_length=4000, description="text to mark on the page (a citation's quote)")] = "",
) -> Response:
    """Page ``number`` of a PDF document as a PNG, with ``highlight`` marked where it appears on the page."""
    caller.require("read", collection)
    found = context.quarry.store.document(collection, document)
    if found is None or not caller.may_see(found.metadata):
        raise ApiError(404, "document_not_found", "no such document in this collection (or not visible to this key)")
    source = Originals.of(context.settings).find(collection, found.source_uri)
    if source is None:
        raise ApiError(404, "page_not_available", "this document has no PDF original to render (only its text)")
    try:
        image = await anyio.to_thread.run_sync(lambda: render_page(source, number, highlight))
    except ParseError as exc:
        raise ApiError(400, "page_not_available", str(exc)) from exc
    return Response(image, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})
