"""``/v1/keys/me``: the calling key as the server sees it (what a client such as the web console may show).
``/v1/keys/usage``: requests per API key as the rate limiter counted them (every replica's with ``[api]
redis_url``, this process's otherwise). Admin keys for every collection only: it covers every key."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from quarry.api.context import CallerDep, ContextDep
from quarry.api.errors import ApiError

__all__ = ["router"]

router = APIRouter(prefix="/v1/keys", tags=["keys"])


class KeyUsageOut(BaseModel):
    key_id: str
    scope: str
    revoked: bool
    requests: int
    rate_limited: int
    last_used: float | None  # epoch seconds; None when never used
    shared: bool  # counted across every API process (Redis), not just this one


class KeyOut(BaseModel):
    key_id: str
    scope: str
    collections: list[str]  # empty: every collection
    principals: list[str]  # who the key acts as, ``public`` included
    operator: bool  # an admin key for every collection: sees every trace, job, prompt and evaluation
    note: str


@router.get("/me")
def whoami(caller: CallerDep) -> KeyOut:
    """The calling key: its scope, the collections it may use and the principals it reads as."""
    caller.require("read")
    key = caller.key
    return KeyOut(key_id=key.id, scope=key.scope, collections=list(key.collections),
                  principals=list(caller.principals), operator=caller.operator, note=key.note)  # fmt: skip


@router.get("/usage")
def key_usage(caller: CallerDep, context: ContextDep) -> list[KeyUsageOut]:
    """Every key with its request count, how many were refused by the rate limit, and when it was last used."""
    caller.require("admin")
    if not caller.operator:
        raise ApiError(403, "forbidden", "key usage covers every key; this key is limited to some collections")
    keys = context.keys.list()
    counted = context.limiter.usage([k.id for k in keys])
    shared = context.settings.api.redis_url is not None
    found = []
    for k in keys:
        usage = counted.get(k.id)
        found.append(
            KeyUsageOut(
                key_id=k.id,
                scope=k.scope,
                revoked=k.revoked_at is not None,
                requests=usage.requests if usage else 0,
                rate_limited=usage.limited if usage else 0,
                last_used=usage.last_used if usage else None,
                shared=shared,
            )
        )
    return found
