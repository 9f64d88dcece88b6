"""``/v1/collections``: create, list, get, delete."""

from __future__ import annotations

from fastapi import APIRouter, Path, status

from quarry.api.context import CallerDep, ContextDep
from quarry.api.schemas import COLLECTION, CollectionIn, CollectionOut
from quarry.api.wire import collection_out

__all__ = ["router"]

router = APIRouter(prefix="/v1/collections", tags=["collections"])

CollectionName = Path(pattern=COLLECTION)


@router.get("")
def list_collections(caller: CallerDep, context: ContextDep) -> list[CollectionOut]:
    """The collections this key may use."""
    caller.require("read")
    infos = context.quarry.store.collections()
    return [collection_out(i, caller) for i in infos if caller.key.may_use(i.name)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_collection(body: CollectionIn, caller: CallerDep, context: ContextDep) -> CollectionOut:
    """Create a collection (idempotent) embedded with the server's embedding model."""
    caller.require("write", body.name)
    quarry = context.quarry
    info = quarry.store.ensure_collection(body.name, embedder=quarry.embedder.model_id, description=body.description)
    return collection_out(info, caller)


@router.get("/{collection}")
def get_collection(caller: CallerDep, context: ContextDep, collection: str = CollectionName) -> CollectionOut:
    caller.require("read", collection)
    return collection_out(context.quarry.store.collection(collection), caller)


@router.delete("/{collection}", status_code=status.HTTP_204_NO_CONTENT)
def delete_collection(caller: CallerDep, context: ContextDep, collection: str = CollectionName) -> None:
    """Delete a collection with all its documents (admin keys only)."""
    caller.require("admin", collection)
    context.quarry.store.delete_collection(collection)
