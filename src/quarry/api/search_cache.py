"""The search result cache's key and the search response's bytes.

The key names everything a search response depends on, so a cached response can only go to a caller
who would have computed the same one:

- the collection and its write **generation** (any write bumps it, so a write invalidates at once,
  also when it came from another process),
- the **normalised query** (Unicode NFC, whitespace runs collapsed, ends trimmed; the search itself
  runs on the normalised text, so the cached value is exactly what the search would return),
- ``k``, the resolved **mode**, ``explain``,
- the **effective filter** — the caller's own filter ANDed with its visibility filter, i.e. its
  principals (``repr`` of the filter AST: ``1`` and ``True`` differ) — and whether the caller sees
  everything (that also decides which metadata a hit shows).

The cached value is the serialised ``hits`` array only: the envelope (the caller's own query text,
``took_ms``, ``trace_id``, ``cached``) is written per request.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Hashable
from typing import Any

from pydantic import TypeAdapter

from quarry.api.schemas import HitOut, SearchRequest
from quarry.api.security import Caller
from quarry.stores.filters import Filter

__all__ = ["encode_hits", "normalise_query", "response_bytes", "search_key"]

_SPACE = re.compile(r"\s+")
_HITS = TypeAdapter(list[HitOut])


def normalise_query(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def search_key(
    body: SearchRequest, generation: int, query: str, mode: str, where: Filter | None, caller: Caller
) -> Hashable:
    return (body.collection, generation, query, body.k, mode, body.explain, repr(where), caller.sees_everything)


def encode_hits(hits: list[HitOut]) -> bytes:
    return _HITS.dump_json(hits)


def response_bytes(
    body: SearchRequest, mode: str, took_ms: float, trace_id: str, hits: bytes, *, cached: bool
) -> bytes:
    """A ``SearchResponse`` as JSON, with ``hits`` spliced in as already-encoded bytes."""
    head: dict[str, Any] = {
        "query": body.query,
        "collection": body.collection,
        "mode": mode,
        "took_ms": round(took_ms, 3),
        "trace_id": trace_id,
        "cached": cached,
    }
    return json.dumps(head, ensure_ascii=False, separators=(",", ":")).encode()[:-1] + b',"hits":' + hits + b"}"
